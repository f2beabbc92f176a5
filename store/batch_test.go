package store

import (
	"bytes"
	"testing"

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
