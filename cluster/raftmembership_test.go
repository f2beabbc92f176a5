package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"keel/cluster/clusterpb"
)

func voters(names ...string) []raft.Server {
	var out []raft.Server
	for _, n := range names {
		out = append(out, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(n), Address: raft.ServerAddress(n + ":1")})
	}
	return out
}

func member(name string, state MemberState, since time.Time) Member {
	return Member{Name: name, State: state, Since: since, Meta: &clusterpb.NodeMeta{Name: name, RaftAddr: name + ":1"}}
}

func ops(plan []raftChange) []string {
	var out []string
	for _, c := range plan {
		out = append(out, fmt.Sprintf("%s %s", c.op, c.id))
	}
	return out
}

func TestPlanReconcile(t *testing.T) {
	now := time.Now()
	long := now.Add(-2 * DeadServerReapAfter)
	recent := now.Add(-time.Minute)
	cases := []struct {
		name    string
		servers []raft.Server
		members []Member
		want    []string
	}{
		{"steady 3-node cluster", voters("a", "b", "c"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateAlive, long)}, nil},
		{"a new alive member becomes a voter", voters("a", "b", "c"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateAlive, long), member("d", StateAlive, now)},
			[]string{"add-voter d"}},
		{"the 6th member is a non-voter", voters("a", "b", "c", "d", "e"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateAlive, long),
				member("d", StateAlive, long), member("e", StateAlive, long), member("f", StateAlive, now)},
			[]string{"add-nonvoter f"}},
		{"a graceful leaver is removed and a non-voter promoted", append(voters("a", "b", "c", "d", "e"),
			raft.Server{Suffrage: raft.Nonvoter, ID: "f", Address: "f:1"}),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateAlive, long),
				member("d", StateAlive, long), member("e", StateLeft, now), member("f", StateAlive, long)},
			[]string{"remove e", "promote f"}},
		{"a recently dead voter is kept", voters("a", "b", "c", "d", "e"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateAlive, long),
				member("d", StateAlive, long), member("e", StateDead, recent)}, nil},
		{"a long-dead voter of five is reaped", voters("a", "b", "c", "d", "e"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateAlive, long),
				member("d", StateAlive, long), member("e", StateDead, long)}, []string{"remove e"}},
		{"a 3-node cluster never reaps (it would fall below 3 voters)", voters("a", "b", "c"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateDead, long)}, nil},
		{"reaping stops once (voters-1)/2 would be exceeded", voters("a", "b", "c", "d", "e"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateDead, long),
				member("d", StateDead, long), member("e", StateDead, long)}, nil},
		{"a dead non-voter is reaped", append(voters("a", "b", "c"), raft.Server{Suffrage: raft.Nonvoter, ID: "x", Address: "x:1"}),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long), member("c", StateAlive, long), member("x", StateDead, long)},
			[]string{"remove x"}},
		{"a member back on a new Raft address is re-added", voters("a", "b", "c"),
			[]Member{member("a", StateAlive, long), member("b", StateAlive, long),
				{Name: "c", State: StateAlive, Since: now, Meta: &clusterpb.NodeMeta{RaftAddr: "c:2"}}},
			[]string{"add-voter c"}},
		{"members unknown to gossip are left alone", voters("a", "b", "c"),
			[]Member{member("a", StateAlive, long)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ops(planReconcile("a", c.servers, c.members, now))
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("plan %v, want %v", got, c.want)
			}
		})
	}
}

// Every node bootstrapping the same server list computes the same cluster ID;
// another list gives another.
func TestBootstrapClusterID(t *testing.T) {
	a, b := bootstrapClusterID(voters("n1", "n2", "n3")), bootstrapClusterID(voters("n1", "n2", "n3"))
	if a != b || len(a) != 32 {
		t.Fatalf("ids %q and %q", a, b)
	}
	if c := bootstrapClusterID(voters("n1", "n2", "n4")); c == a {
		t.Fatal("another server list, the same id")
	}
	if newClusterID() == newClusterID() {
		t.Fatal("random ids repeat")
	}
}
