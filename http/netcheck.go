package http

import (
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// applyMask merges an update's values onto a copy of the current row (to check the
// result before asking the grain, which applies the same mask authoritatively).
func applyMask(dst, src proto.Message, fields []string) {
	_ = storepb.ApplyFields(dst, src, fields)
}
