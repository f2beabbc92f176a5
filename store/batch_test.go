package store

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// A batch laid out from commands encoded one by one is the CommandBatch the
// generated codec writes, and splitting it gives back each command's bytes.
func TestCommandBatchLayout(t *testing.T) {
	cmds := []*storepb.Command{
		{RequestId: "req-1", DeadlineUnixMs: 1234, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER,
			Write:  &storepb.TreeWrite{LoadBalancerId: "lb-1", LoadBalancer: &storepb.LoadBalancer{Id: "lb-1", Name: "web", Tags: []string{"a", "b"}}},
		}}},
		{RequestId: "req-2", Op: &storepb.Command_ResolveRequest{ResolveRequest: &storepb.ResolveRequest{}}},
		{}, // an empty command encodes to no bytes, and must still count
	}
	raws := make([][]byte, len(cmds))
	for i, c := range cmds {
		var err error
		if raws[i], err = c.MarshalVT(); err != nil {
			t.Fatal(err)
		}
	}
	for _, leaderTime := range []int64{0, 1796155612967} {
		want, err := (&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: leaderTime}).MarshalVT()
		if err != nil {
			t.Fatal(err)
		}
		got := appendCommandBatch(nil, raws, leaderTime)
		if !bytes.Equal(got, want) || commandBatchSize(raws, leaderTime) != len(want) {
			t.Fatalf("leader time %d: laid out %x (size said %d), generated codec wrote %x", leaderTime, got, commandBatchSize(raws, leaderTime), want)
		}
		split, err := splitCommandBatch(got)
		if err != nil {
			t.Fatal(err)
		}
		if len(split) != len(cmds) {
			t.Fatalf("split %d commands out of %d", len(split), len(cmds))
		}
		for i := range split {
			var back storepb.Command
			if err := back.UnmarshalVT(split[i]); err != nil || !proto.Equal(&back, cmds[i]) {
				t.Fatalf("command %d came back as %v (%v)", i, &back, err)
			}
		}
	}
}

// A forwarded batch that is not a CommandBatch is refused whole, before any of
// it joins an entry.
func TestSplitCommandBatchRefusesMalformed(t *testing.T) {
	good := appendCommandBatch(nil, [][]byte{{0x0a, 0x01, 'x'}}, 0)
	for name, b := range map[string][]byte{
		"truncated length":          good[:len(good)-1],
		"bad tag":                   {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"command not a message":     appendCommandBatch(nil, [][]byte{{0x0a, 0x05, 'x'}}, 0),
		"command with a bad varint": appendCommandBatch(nil, [][]byte{{0x10, 0xff}}, 0),
	} {
		if raws, err := splitCommandBatch(b); err == nil {
			t.Errorf("%s: split into %d commands", name, len(raws))
		}
	}
}

// A large entry is stored compressed and applies exactly as its plain encoding
// does (entries written before compression read as they are); a small one is
// left as it is; a damaged one is refused, not half-applied.
func TestCompressedEntriesApplyAlike(t *testing.T) {
	var cmds []*storepb.Command
	for i := range 40 {
		id := fmt.Sprintf("6f1c1d2e-0000-4000-8000-%012d", i)
		cmds = append(cmds, &storepb.Command{RequestId: "req-" + id, DeadlineUnixMs: 2, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER,
			Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: &storepb.LoadBalancer{Id: id, ProjectId: "default",
				Name: fmt.Sprint("bench-", i), ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE",
				VipSubnetId: "08dce793-daef-411d-a896-d389cd45b1ea", Provider: "amphora", Tags: []string{"bench"}, CreatedAt: int64(i)}}}}})
	}
	plain, err := (&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: 1}).MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	packed := encodeEntry(plain)
	if packed[0] != compressedEntry || len(packed) >= len(plain)/2 {
		t.Fatalf("a %d-byte batch was stored in %d bytes (first byte %#x)", len(plain), len(packed), packed[0])
	}
	a, b := NewFSM(), NewFSM()
	ra := a.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: packed})
	rb := b.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: plain})
	resA, okA := ra.([]*storepb.CommandResult)
	resB, okB := rb.([]*storepb.CommandResult)
	if !okA || !okB || len(resA) != len(cmds) || len(resB) != len(cmds) {
		t.Fatalf("results %T %T", ra, rb)
	}
	for i := range resA {
		if !proto.Equal(resA[i], resB[i]) || resA[i].Code != storepb.CommandResult_OK {
			t.Fatalf("command %d: %v compressed, %v plain", i, resA[i], resB[i])
		}
	}
	if !bytes.Equal(persisted(t, a), persisted(t, b)) {
		t.Fatal("the tables differ after the same commands, compressed and plain")
	}

	small, _ := (&storepb.CommandBatch{Commands: cmds[:1], LeaderTimeUnixMs: 1}).MarshalVT()
	if got := encodeEntry(small); !bytes.Equal(got, small) {
		t.Fatalf("a %d-byte batch was compressed", len(small))
	}

	damaged := bytes.Clone(packed)
	damaged[len(damaged)/2] ^= 0xff
	c := NewFSM()
	if r, ok := c.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: damaged}).(error); !ok {
		t.Fatalf("a damaged entry applied: %v", r)
	}
	if c.State().Current().LoadBalancers.Len() != 0 {
		t.Fatal("a damaged entry left rows behind")
	}
}

// An entry larger than the encoder's window (a full batch of a create burst)
// reads back whole, and so does one that an older keeld compressed with
// zstd's default window.
func TestLargeEntriesRoundTrip(t *testing.T) {
	var cmds []*storepb.Command
	for i := range maxBatch {
		id := fmt.Sprintf("6f1c1d2e-0000-4000-8000-%012d", i)
		cmds = append(cmds, &storepb.Command{RequestId: "req-" + id, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: &storepb.LoadBalancer{Id: id, ProjectId: "default",
				Name: fmt.Sprint("bench-", i), Description: strings.Repeat(fmt.Sprint(i%97), 200), VipSubnetId: "08dce793-daef-411d-a896-d389cd45b1ea"}}}}})
	}
	plain, err := (&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: 1}).MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) < 2*entryWindow {
		t.Fatalf("the batch is %d bytes, not over two windows", len(plain))
	}
	older, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	for name, packed := range map[string][]byte{
		"this window":        encodeEntry(plain),
		"the default window": older.EncodeAll(plain, []byte{compressedEntry}),
	} {
		got, err := decodeEntry(packed, nil)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: %d bytes stored as %d read back as %d (%v)", name, len(plain), len(packed), len(got), err)
		}
	}
}
