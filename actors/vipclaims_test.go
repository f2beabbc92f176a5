package actors_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/store"
	"keel/store/storepb"
)

// Additional VIPs' addresses are claims (issue 11): the grain refuses an
// address another load balancer holds in the subnet, as its VIP or an
// additional VIP, either way round, in Neutron's words (409) without proposing;
// an additional VIP in the VIP's own subnet is Octavia's 400; and when another
// create takes the address between the grain's decision and its proposal, the
// FSM refuses it and the grain, deciding again on a fresh read, answers the 409.
func TestAdditionalVipClaimsInTheGrain(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	const (
		s1, s2, s3 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
	)
	lb := func(id, subnet, addr string, additional ...string) *storepb.LoadBalancer {
		v := &storepb.LoadBalancer{Id: id, ProjectId: "p", AdminStateUp: true, VipSubnetId: subnet, VipAddress: addr}
		for i := 0; i+1 < len(additional); i += 2 {
			v.AdditionalVips = append(v.AdditionalVips, &storepb.AdditionalVip{SubnetId: additional[i], IpAddress: additional[i+1]})
		}
		return v
	}
	create := func(reqID string, v *storepb.LoadBalancer) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := caller(reqID, 0)
		c.ProjectId, c.Admin = "other", false // another project's request: claims hold across projects
		v.ProjectId = "other"
		_, err := actors.CallLoadBalancer(ctx, m.client, v.Id, (*actorspb.LoadBalancerGrainClient).Create,
			&actorspb.CreateLoadBalancerRequest{Caller: c, Tree: &storepb.Tree{LoadBalancer: v}})
		return err
	}
	expect := func(err error, kind actors.ErrorKind, message string) {
		t.Helper()
		var e *actors.Error
		if !errors.As(err, &e) || e.Kind != kind || e.Message != message {
			t.Fatalf("got %v, want %s %q", err, kind, message)
		}
	}

	holder := uuid.NewString()
	s.write(t, &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: holder,
			LoadBalancer: lb(holder, s1, "10.1.1.1", s2, "10.2.2.2")}}}})

	for _, c := range []struct {
		name string
		lb   *storepb.LoadBalancer
		kind actors.ErrorKind
		msg  string
	}{
		{"its VIP as an additional VIP", lb(uuid.NewString(), s3, "", s1, "10.1.1.1"),
			actors.KindConflict, "IP address 10.1.1.1 already allocated in subnet " + s1},
		{"its additional VIP as the VIP", lb(uuid.NewString(), s2, "10.2.2.2"),
			actors.KindConflict, "IP address 10.2.2.2 already allocated in subnet " + s2},
		{"its additional VIP as an additional VIP", lb(uuid.NewString(), s3, "", s2, "10.2.2.2"),
			actors.KindConflict, "IP address 10.2.2.2 already allocated in subnet " + s2},
		{"an additional VIP in the VIP's subnet", lb(uuid.NewString(), s3, "10.3.3.3", s3, "10.3.3.4"),
			actors.KindInvalid, "Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet."},
	} {
		reqID := "refused/" + c.name
		expect(create(reqID, c.lb), c.kind, c.msg)
		if n := len(s.proposals(reqID)); n != 0 {
			t.Fatalf("%s: %d proposals, want none (the grain refuses first)", c.name, n)
		}
	}

	// The race: a rival takes 10.4.4.4 in s3 (as its VIP) just before the
	// grain's proposal (naming it as an additional VIP) commits.
	const raced = "raced"
	rival := uuid.NewString()
	s.script(raced, afterOtherWriter(func(*store.State, *storepb.Command) *storepb.Command {
		return &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: rival,
				LoadBalancer: lb(rival, s3, "10.4.4.4")}}}}
	}))
	loser := lb(uuid.NewString(), s1, "", s3, "10.4.4.4")
	expect(create(raced, loser), actors.KindConflict, "IP address 10.4.4.4 already allocated in subnet "+s3)
	if p := s.proposals(raced); len(p) != 1 || s.timesApplied(raced) != 0 {
		t.Fatalf("%d proposals, applied %d times: want one, refused by the FSM", len(p), s.timesApplied(raced))
	}
	if s.State().LoadBalancer(loser.Id) != nil {
		t.Fatal("the losing create was stored")
	}
	if h := s.State().Current().VipAddressHolder(s3, "10.4.4.4"); h.GetId() != rival {
		t.Fatalf("holder of 10.4.4.4: %v, want the rival", h)
	}

	// Another subnet may use the same address; a made-up additional address
	// claims nothing.
	free := lb(uuid.NewString(), s3, "", s1, "10.2.2.2", s2, "")
	if err := create("free", free); err != nil {
		t.Fatal(err)
	}
	if got := s.State().LoadBalancer(free.Id).AdditionalVips[1].IpAddress; !strings.HasPrefix(got, "10.") ||
		s.State().Current().VipAddressHolder(s2, got) != nil {
		t.Fatalf("made-up additional address %q is a claim", got)
	}
}
