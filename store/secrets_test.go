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
// same address loses (CONFLICT, nothing written), whatever its subnet; a create
// without the flag (the noop driver: addresses are records) may name it in
// another subnet (issue 11: before, in any subnet; TestVipClaims has the rest).
func TestExclusiveVip(t *testing.T) {
	f := NewFSM()
	create := func(req, id string, exclusive bool) *storepb.Command {
		lb := testLB(id, "p", 1)
		lb.VipAddress = "127.0.100.7"
		if !exclusive {
			lb.VipSubnetId = "other-subnet"
		}
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

// Named VIP ports and addresses are claims (issue 11): a create naming the port
// of another load balancer (named or derived from its id), or a named address of
// the same subnet, loses with CONFLICT whatever the project; derived addresses
// (the noop driver's records) claim nothing.
func TestVipClaims(t *testing.T) {
	f := NewFSM()
	const (
		idA  = "6b1a0f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
		idB  = "7c2b1f0e-2d3e-4f5a-9b0c-1d2e3f4a5b6c"
		port = "0d3c2b1a-3e4f-4a5b-8c9d-2e3f4a5b6c7d"
	)
	lb := func(id, project, subnet, addr, port string) *storepb.LoadBalancer {
		v := testLB(id, project, 1)
		v.VipSubnetId, v.VipAddress, v.VipPortId = subnet, addr, port
		return v
	}
	derived := storepb.DerivedVipPortID(idA)
	res := applyCmds(t, f, 1,
		createCmd("a", lb(idA, "pa", "s1", "10.9.9.9", derived)),
		createCmd("b1", lb(idB, "pb", "s1", "10.9.9.9", "")),                            // A's address in A's subnet
		createCmd("b2", lb(idB, "pb", "s2", "10.9.9.9", "")),                            // the same address elsewhere
		createCmd("c1", lb("lb-c", "pa", "s3", "", derived)),                            // A's derived port
		createCmd("c2", lb("lb-c", "pb", "s3", "", port)),                               // a new named port
		createCmd("d1", lb("lb-d", "pa", "s3", "", port)),                               // ... taken
		createCmd("d2", lb("lb-d", "pa", "s1", storepb.RecordedVipAddress("lb-d"), "")), // a record
		createCmd("e", lb("lb-e", "pb", "s1", storepb.RecordedVipAddress("lb-d"), "")),  // claims nothing
	)
	want := []storepb.CommandResult_Code{storepb.CommandResult_OK, storepb.CommandResult_CONFLICT, storepb.CommandResult_OK,
		storepb.CommandResult_CONFLICT, storepb.CommandResult_OK, storepb.CommandResult_CONFLICT, storepb.CommandResult_OK,
		storepb.CommandResult_OK}
	for i, r := range res {
		if r.Code != want[i] {
			t.Fatalf("result %d: %v, want %v (all: %v)", i, r.Code, want[i], res)
		}
	}
	st := f.State().Current()
	if h := st.VipPortHolder(derived); h.GetId() != idA {
		t.Fatalf("holder of A's derived port: %v", h)
	}
	if h := st.VipPortHolder(port); h.GetId() != "lb-c" {
		t.Fatalf("holder of the named port: %v", h)
	}
	if h := st.VipAddressHolder("s1", "10.9.9.9"); h.GetId() != idA {
		t.Fatalf("holder of 10.9.9.9 in s1: %v", h)
	}
	if h := st.VipAddressHolder("s1", storepb.RecordedVipAddress("lb-d")); h.GetId() != "lb-e" {
		t.Fatalf("holder of lb-d's recorded address: %v, want lb-e (which named it)", h)
	}
}
