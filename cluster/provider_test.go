package cluster

import (
	"testing"
	"time"

	"keel/cluster/clusterpb"
)

func actorMember(name, actorID string, state MemberState) Member {
	return Member{Name: name, State: state, Since: time.Now(), Meta: &clusterpb.NodeMeta{
		Name: name, ActorId: actorID, ActorAddr: "127.0.0.1:1", Kinds: []string{"LoadBalancer"}}}
}

func ids(st *topologyState, members ...Member) map[string]string {
	out := map[string]string{}
	for _, m := range st.topology(members) {
		out[m.Id[:2]] = m.Id
	}
	return out
}

// A member that drops out of the topology comes back under a new ID (protoactor
// blocks the old one forever); this node keeps its own ActorSystem ID.
func TestTopologyGenerations(t *testing.T) {
	st := &topologyState{self: "n1", selfID: "s1", gens: map[string]*generation{}}
	got := ids(st, actorMember("n1", "s1", StateAlive), actorMember("n2", "s2", StateAlive))
	if got["s1"] != "s1" || got["s2"] != "s2#1" {
		t.Fatalf("first topology: %v", got)
	}
	// Suspect keeps the member (and its ID); dead drops it.
	if got := ids(st, actorMember("n1", "s1", StateAlive), actorMember("n2", "s2", StateSuspect)); got["s2"] != "s2#1" {
		t.Fatalf("suspect: %v", got)
	}
	if got := ids(st, actorMember("n1", "s1", StateAlive), actorMember("n2", "s2", StateDead)); len(got) != 1 {
		t.Fatalf("dead member published: %v", got)
	}
	if got := ids(st, actorMember("n1", "s1", StateAlive), actorMember("n2", "s2", StateAlive)); got["s2"] != "s2#2" {
		t.Fatalf("back after a partition: %v, want generation 2", got)
	}
	// A restart (new ActorSystem ID) starts again at generation 1.
	if got := ids(st, actorMember("n1", "s1", StateAlive), actorMember("n2", "s3", StateAlive)); got["s3"] != "s3#1" {
		t.Fatalf("restarted: %v", got)
	}
	// No actor system yet (no meta): not published.
	if got := ids(st, actorMember("n1", "s1", StateAlive), Member{Name: "n4", State: StateAlive}); len(got) != 1 {
		t.Fatalf("member without an actor system published: %v", got)
	}
}

func TestQuorumAlive(t *testing.T) {
	m := func(states ...MemberState) []Member {
		var out []Member
		for i, s := range states {
			out = append(out, Member{Name: string(rune('a' + i)), State: s})
		}
		return out
	}
	cases := []struct {
		name    string
		members []Member
		voters  []string
		want    bool
	}{
		{"no configuration", m(StateAlive), nil, true},
		{"single voter", m(StateAlive), []string{"a"}, true},
		{"2 of 3", m(StateAlive, StateAlive, StateDead), []string{"a", "b", "c"}, true},
		{"suspect counts", m(StateAlive, StateSuspect, StateDead), []string{"a", "b", "c"}, true},
		{"1 of 3", m(StateAlive, StateDead, StateDead), []string{"a", "b", "c"}, false},
		{"voter unknown to gossip", m(StateAlive), []string{"a", "b", "c"}, false},
		{"left voters do not count", m(StateAlive, StateLeft, StateAlive), []string{"a", "b", "c"}, true},
		{"2 of 4", m(StateAlive, StateAlive, StateDead, StateDead), []string{"a", "b", "c", "d"}, false},
	}
	for _, c := range cases {
		if got := quorumAlive(c.members, c.voters); got != c.want {
			t.Errorf("%s: quorumAlive = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFenceReason(t *testing.T) {
	now := time.Now()
	if why := fenceReason(true, time.Time{}, now); why != "" {
		t.Errorf("quorum and a leader: fenced (%s)", why)
	}
	if why := fenceReason(true, now.Add(-time.Second), now); why != "" {
		t.Errorf("leaderless for 1 s (an election): fenced (%s)", why)
	}
	if why := fenceReason(true, now.Add(-LeaderlessFenceAfter-time.Second), now); why == "" {
		t.Error("leaderless past the grace: not fenced")
	}
	if why := fenceReason(false, time.Time{}, now); why == "" {
		t.Error("no majority alive: not fenced")
	}
}
