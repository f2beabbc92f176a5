package store

import (
	"errors"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/encoding/protowire"
)

// A Raft entry is a CommandBatch (field 1: the commands, field 2: the leader's
// clock). Commands are encoded once, by the goroutine that proposes them; a batch
// is then their wire encodings laid end to end, and a follower forwards its batch
// to the leader as those bytes, which the leader splits back into commands
// without decoding them (appendCommandBatch and splitCommandBatch produce and read
// exactly what storepb.CommandBatch's codecs do).
const (
	batchCommandsField   protowire.Number = 1
	batchLeaderTimeField protowire.Number = 2
)

// appendCommandBatch appends the CommandBatch holding the encoded commands raws
// (and leaderTimeUnixMs, unless 0) to b.
func appendCommandBatch(b []byte, raws [][]byte, leaderTimeUnixMs int64) []byte {
	for _, r := range raws {
		b = protowire.AppendTag(b, batchCommandsField, protowire.BytesType)
		b = protowire.AppendBytes(b, r)
	}
	if leaderTimeUnixMs != 0 {
		b = protowire.AppendTag(b, batchLeaderTimeField, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(leaderTimeUnixMs))
	}
	return b
}

// commandBatchSize is the length of appendCommandBatch's output.
func commandBatchSize(raws [][]byte, leaderTimeUnixMs int64) int {
	n := 0
	for _, r := range raws {
		n += protowire.SizeTag(batchCommandsField) + protowire.SizeBytes(len(r))
	}
	if leaderTimeUnixMs != 0 {
		n += protowire.SizeTag(batchLeaderTimeField) + protowire.SizeVarint(uint64(leaderTimeUnixMs))
	}
	return n
}

var errMalformedBatch = errors.New("store: malformed command batch")

// splitCommandBatch returns the encoded commands of batch (aliasing it). It checks
// the wire format of the batch and of each command's top-level fields, not the
// commands' contents: only nodes of the cluster send batches, and the FSM decodes
// every entry before applying any of it.
func splitCommandBatch(batch []byte) ([][]byte, error) {
	var raws [][]byte
	for len(batch) > 0 {
		num, typ, n := protowire.ConsumeTag(batch)
		if n < 0 {
			return nil, errMalformedBatch
		}
		batch = batch[n:]
		if num != batchCommandsField || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, batch)
			if n < 0 {
				return nil, errMalformedBatch
			}
			batch = batch[n:]
			continue
		}
		raw, n := protowire.ConsumeBytes(batch)
		if n < 0 || !wellFormedMessage(raw) {
			return nil, errMalformedBatch
		}
		raws = append(raws, raw)
		batch = batch[n:]
	}
	return raws, nil
}

// wellFormedMessage reports whether b parses as a sequence of protobuf fields.
func wellFormedMessage(b []byte) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

// A Raft entry's data is the CommandBatch's encoding as it is, or, when that is
// at least compressMinBytes, compressedEntry followed by a zstd frame of it. A
// protobuf message never starts with a zero byte (field number 0 is invalid),
// so entries written before compression, and small ones, read as they are.
//
// Compression pays for itself several times over on the write path: an entry
// of a create load (~10 KB: a few dozen commands whose rows repeat project,
// subnet and status strings) shrinks about 3.4×, and every node's log store
// copies it (the log store's encoding, each follower's decode of the append)
// and fsyncs it; zstd's fastest level encodes it once on the leader in tens of
// microseconds.
const (
	compressedEntry  = 0x00
	compressMinBytes = 1024
	// maxEntryBytes bounds what one entry may decompress to (a batch is at most
	// maxBatch commands, far below it).
	maxEntryBytes = 64 << 20
)

// entryWindow is the encoder's window. An entry is compressed on its own
// (EncodeAll), so a window larger than the entry finds nothing more; with the
// default (8 MiB) an entry over one block (128 KiB: a large batch of a create
// burst) made the encoder keep an 8.3 MiB history for the process's life,
// where this window keeps 1.1 MiB.
const entryWindow = 1 << 17

var (
	entryEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true),
		zstd.WithWindowSize(entryWindow))
	entryDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxEntryBytes), zstd.WithDecoderLowmem(true))
)

// encodeEntry returns the data of a Raft entry holding batch (which it may
// return itself).
func encodeEntry(batch []byte) []byte {
	if len(batch) < compressMinBytes {
		return batch
	}
	return entryEncoder.EncodeAll(batch, append(make([]byte, 0, len(batch)/2), compressedEntry))
}

// decodeEntry returns the CommandBatch encoding that entry data holds, reusing
// buf's storage when it decompresses.
func decodeEntry(data, buf []byte) ([]byte, error) {
	if len(data) == 0 || data[0] != compressedEntry {
		return data, nil
	}
	return entryDecoder.DecodeAll(data[1:], buf[:0])
}
