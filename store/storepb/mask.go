package storepb

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ApplyFields copies the named attributes from src onto dst: an update carries new
// values plus the names of the attributes the PUT set. The entity protos name their
// fields as Octavia names its attributes, so the API's names are the field names.
func ApplyFields(dst, src proto.Message, fields []string) error {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	desc := d.Descriptor().Fields()
	for _, name := range fields {
		fd := desc.ByName(protoreflect.Name(name))
		if fd == nil {
			return fmt.Errorf("unknown attribute %s", name)
		}
		if s.Has(fd) {
			d.Set(fd, s.Get(fd))
		} else {
			d.Clear(fd)
		}
	}
	return nil
}
