package store

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func initSecrets(req, ca string) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_InitAmphoraSecrets{InitAmphoraSecrets: &storepb.InitAmphoraSecrets{
		Secrets: &storepb.AmphoraSecrets{CaCertPem: ca, CaKeyPem: ca + "-key", HeartbeatKey: "hb-" + ca}}}}
}

// The first complete set of amphora secrets wins on every node; later proposals
// (every node that found none at startup proposes its own) change nothing, and the
// secrets survive a snapshot.
func TestAmphoraSecretsFirstWins(t *testing.T) {
	f := NewFSM()
	incomplete := &storepb.Command{RequestId: "bad", Op: &storepb.Command_InitAmphoraSecrets{InitAmphoraSecrets: &storepb.InitAmphoraSecrets{
		Secrets: &storepb.AmphoraSecrets{CaCertPem: "only"}}}}
	res := applyCmds(t, f, 1, incomplete, initSecrets("n1", "ca-1"), initSecrets("n2", "ca-2"))
	if res[0].Code != storepb.CommandResult_INVALID || res[1].Code != storepb.CommandResult_OK || res[2].Code != storepb.CommandResult_OK {
		t.Fatalf("results: %v", res)
	}
	got := f.State().Current().AmphoraSecrets
	if got.GetCaCertPem() != "ca-1" || got.GetHeartbeatKey() != "hb-ca-1" {
		t.Fatalf("secrets: %v, want the first proposal's", got)
	}

	snap, _ := f.Snapshot()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(nopCloser{sink}); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(g.State().Current().AmphoraSecrets, got) {
		t.Fatalf("restored secrets: %v, want %v", g.State().Current().AmphoraSecrets, got)
	}
}

// An exclusive VIP is held by one load balancer only: a second create with the
// same address loses (CONFLICT, nothing written); a create without the flag
// (the noop driver: addresses are only records) may share it.
func TestExclusiveVip(t *testing.T) {
	f := NewFSM()
	create := func(req, id string, exclusive bool) *storepb.Command {
		lb := testLB(id, "p", 1)
		lb.VipAddress = "127.0.100.7"
		return &storepb.Command{RequestId: req, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, ExclusiveVip: exclusive,
			Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: lb}}}}
	}
	res := applyCmds(t, f, 1, create("a", "lb-a", true), create("b", "lb-b", true), create("c", "lb-c", false))
	if res[0].Code != storepb.CommandResult_OK || res[1].Code != storepb.CommandResult_CONFLICT || res[2].Code != storepb.CommandResult_OK {
		t.Fatalf("results: %v", res)
	}
	if f.State().LoadBalancer("lb-b") != nil {
		t.Fatal("the losing create was written")
	}
	if holder := f.State().Current().LoadBalancerWithVip("127.0.100.7"); holder == nil {
		t.Fatal("no holder of the VIP")
	}
}
