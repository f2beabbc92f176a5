package store

import (
	"bytes"
	"io"
	"testing"

	"keel/store/storepb"
)

func vipLB(id, project, subnet, addr string, additional ...string) *storepb.LoadBalancer {
	v := testLB(id, project, 1)
	v.VipSubnetId, v.VipAddress = subnet, addr
	for i := 0; i+1 < len(additional); i += 2 {
		v.AdditionalVips = append(v.AdditionalVips, &storepb.AdditionalVip{SubnetId: additional[i], IpAddress: additional[i+1]})
	}
	return v
}

func purgeCmd(req string, lb *storepb.LoadBalancer) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_PurgeLoadBalancer{
		PurgeLoadBalancer: &storepb.PurgeLoadBalancer{Id: lb.Id, ExpectedVersion: lb.Version}}}
}

func wantCodes(t *testing.T, res []*storepb.CommandResult, want ...storepb.CommandResult_Code) {
	t.Helper()
	for i, r := range res {
		if r.Code != want[i] {
			t.Fatalf("result %d: %v (%s), want %v", i, r.Code, r.Message, want[i])
		}
	}
}

const (
	okCode       = storepb.CommandResult_OK
	conflictCode = storepb.CommandResult_CONFLICT
)

// Additional VIPs' named addresses are claims, as the VIP's (issue 11): a create
// naming an address another load balancer holds in the same subnet — as its VIP
// or an additional VIP, either way round, whatever the project — loses with
// CONFLICT; addresses compare in canonical form; recorded (made-up) additional
// addresses claim nothing; one load balancer naming an address twice is invalid.
func TestAdditionalVipClaims(t *testing.T) {
	f := NewFSM()
	recorded := storepb.RecordedAdditionalVipAddress("lb-d", "s5")
	res := applyCmds(t, f, 1,
		createCmd("a", vipLB("lb-a", "pa", "s1", "10.9.9.9", "s2", "10.8.8.8", "s4", "2001:DB8:0:0:0:0:0:33")),
		createCmd("b1", vipLB("lb-b", "pb", "s3", "", "s1", "10.9.9.9")),        // A's VIP as an additional VIP
		createCmd("b2", vipLB("lb-b", "pb", "s2", "10.8.8.8")),                  // A's additional VIP as a VIP
		createCmd("b3", vipLB("lb-b", "pb", "s3", "", "s2", "10.8.8.8")),        // ... as an additional VIP
		createCmd("b4", vipLB("lb-b", "pb", "s4", "2001:db8::33")),              // the same address, written otherwise
		createCmd("b5", vipLB("lb-b", "pa", "s3", "", "s9", "10.8.8.8")),        // the address in another subnet
		createCmd("d", vipLB("lb-d", "pa", "s3", "", "s5", recorded)),           // a record: claims nothing
		createCmd("e", vipLB("lb-e", "pb", "s5", recorded)),                     // ... so it may be named
		createCmd("g", vipLB("lb-g", "pb", "s6", "10.7.7.7", "s6", "10.7.7.7")), // twice in one load balancer
	)
	wantCodes(t, res, okCode, conflictCode, conflictCode, conflictCode, conflictCode, okCode, okCode, okCode,
		storepb.CommandResult_INVALID)
	st := f.State().Current()
	for _, c := range []struct{ subnet, addr, holder string }{
		{"s1", "10.9.9.9", "lb-a"}, {"s2", "10.8.8.8", "lb-a"}, {"s4", "2001:db8::33", "lb-a"},
		{"s9", "10.8.8.8", "lb-b"}, {"s5", recorded, "lb-e"}, {"s3", "10.9.9.9", ""}, {"s6", "10.7.7.7", ""},
	} {
		if h := st.VipAddressHolder(c.subnet, c.addr); h.GetId() != c.holder {
			t.Fatalf("holder of %s in %s: %q, want %q", c.addr, c.subnet, h.GetId(), c.holder)
		}
	}

	// Two creates decided concurrently by two grains reach the FSM in one
	// batch: the first claim wins, whichever way round they name the address.
	res = applyCmds(t, f, 2,
		createCmd("h1", vipLB("lb-h1", "pa", "s7", "10.6.6.6")),
		createCmd("h2", vipLB("lb-h2", "pb", "s8", "", "s7", "10.6.6.6")),
		createCmd("i1", vipLB("lb-i1", "pb", "s8", "", "s7", "10.6.6.7")),
		createCmd("i2", vipLB("lb-i2", "pa", "s8", "", "s7", "10.6.6.7")),
	)
	wantCodes(t, res, okCode, conflictCode, okCode, conflictCode)
	if f.State().LoadBalancer("lb-h2") != nil || f.State().LoadBalancer("lb-i2") != nil {
		t.Fatal("a losing create was written")
	}

	// A published state does not see later writes; a purge frees every address
	// the load balancer claimed.
	before := f.State().Current()
	res = applyCmds(t, f, 3, purgeCmd("pa", f.State().LoadBalancer("lb-a")))
	wantCodes(t, res, okCode)
	if h := before.VipAddressHolder("s2", "10.8.8.8"); h.GetId() != "lb-a" {
		t.Fatalf("published state lost a claim to a later purge: %v", h)
	}
	for _, c := range [][2]string{{"s1", "10.9.9.9"}, {"s2", "10.8.8.8"}, {"s4", "2001:db8::33"}} {
		if h := f.State().Current().VipAddressHolder(c[0], c[1]); h != nil {
			t.Fatalf("%s in %s still held by %s after its purge", c[1], c[0], h.Id)
		}
	}
	res = applyCmds(t, f, 4,
		createCmd("b6", vipLB("lb-b6", "pb", "s2", "10.8.8.8", "s1", "10.9.9.9")),
		createCmd("j", vipLB("lb-j", "pa", "s4", "2001:db8::33")),
	)
	wantCodes(t, res, okCode, okCode)

	// A restored state rebuilds the claims from the load balancers' rows.
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ subnet, addr, holder string }{
		{"s1", "10.9.9.9", "lb-b6"}, {"s2", "10.8.8.8", "lb-b6"}, {"s4", "2001:DB8::33", "lb-j"},
		{"s7", "10.6.6.6", "lb-h1"}, {"s7", "10.6.6.7", "lb-i1"}, {"s5", recorded, "lb-e"},
	} {
		if h := g.State().Current().VipAddressHolder(c.subnet, c.addr); h.GetId() != c.holder {
			t.Fatalf("restored holder of %s in %s: %q, want %q", c.addr, c.subnet, h.GetId(), c.holder)
		}
	}
	res = applyCmds(t, g, 5,
		createCmd("k1", vipLB("lb-k", "pc", "s9", "", "s1", "10.9.9.9")),
		createCmd("k2", vipLB("lb-k", "pc", "s7", "10.6.6.7")),
	)
	wantCodes(t, res, conflictCode, conflictCode)
}

// The multi-valued index follows replacement and deletion and a clone keeps its
// own version (TestTableIndexesFollowReplacement's, for IndexVipClaims).
func TestVipClaimsIndexFollowsWrites(t *testing.T) {
	tab := NewTable(loadBalancerSchema)
	tab.Put(vipLB("x", "p", "s", "10.0.5.1", "t", "10.0.5.2", "u", "10.0.5.3"))
	tab.Put(vipLB("y", "p", "s", "10.0.5.9"))
	before := tab.Clone()
	tab.Put(vipLB("x", "p", "s", "10.0.5.1", "t", "10.0.5.4"))
	tab.Delete("y")
	keys := func(tab *Table[*storepb.LoadBalancer], subnet, addr string) []string {
		var ids []string
		tab.Keyed(IndexVipClaims, vipClaimKey(subnet, addr), func(lb *storepb.LoadBalancer) bool {
			ids = append(ids, lb.Id)
			return true
		})
		return ids
	}
	for _, c := range []struct {
		tab          *Table[*storepb.LoadBalancer]
		subnet, addr string
		n            int
	}{
		{tab, "s", "10.0.5.1", 1}, {tab, "t", "10.0.5.2", 0}, {tab, "u", "10.0.5.3", 0}, {tab, "t", "10.0.5.4", 1},
		{tab, "s", "10.0.5.9", 0},
		{before, "t", "10.0.5.2", 1}, {before, "u", "10.0.5.3", 1}, {before, "t", "10.0.5.4", 0}, {before, "s", "10.0.5.9", 1},
	} {
		if got := keys(c.tab, c.subnet, c.addr); len(got) != c.n {
			t.Fatalf("%s in %s: %v, want %d entries", c.addr, c.subnet, got, c.n)
		}
	}
	if n := tab.multi[IndexVipClaims].Len(); n != 2 {
		t.Fatalf("index holds %d claims, want 2", n)
	}
}
