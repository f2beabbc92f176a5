package systemtest

import (
	"net"
	"testing"
)

// The -race log scan: every report is found, and only the listed upstream ones
// are excused.
func TestRaceReports(t *testing.T) {
	log := `time=1 level=INFO msg=started
==================
WARNING: DATA RACE
Read at 0x00c000106188 by goroutine 213:
  keel/cluster.(*ActorProvider).publish()
Previous write at 0x00c000106188 by goroutine 921:
  github.com/asynkron/protoactor-go/remote.(*BlockList).Block()
==================
==================
WARNING: DATA RACE
Write at 0x00c0003f8ba8 by goroutine 5:
  keel/store.(*Node).apply()
Previous read at 0x00c0003f8ba8 by goroutine 6:
  keel/store.(*Node).Barrier()
==================
time=2 level=INFO msg=stopped
`
	reports := raceReports(log)
	if len(reports) != 2 {
		t.Fatalf("%d reports, want 2", len(reports))
	}
	if knownRace(reports[0]) == "" || knownRace(reports[1]) != "" {
		t.Fatalf("known: %q, %q", knownRace(reports[0]), knownRace(reports[1]))
	}
}

// TestClusterStartsAgainWhenAPortIsTaken: a node whose port another process took
// between FreePort and its bind exits; StartCluster starts the cluster again on new
// ports instead of failing the test (the CI failure of stop 16: n3's actor port was
// n1's Raft port).
func TestClusterStartsAgainWhenAPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	nodes := StartClusterWith(t, 2, func(n *Node) {
		if n.Name == "n2" {
			n.ActorAddr = taken.Addr().String()
		}
	})
	if got := nodes[1].ActorAddr; got == taken.Addr().String() {
		t.Fatalf("n2 still has the taken port %s", got)
	}
	for _, n := range nodes {
		if !n.Running() {
			t.Fatalf("%s is not running", n.Name)
		}
	}
}

// TestFreePortNeverRepeats: ports handed out in one process are distinct and
// below the kernel's ephemeral range.
func TestFreePortNeverRepeats(t *testing.T) {
	_, high := portRange()
	seen := map[int]bool{}
	for i := 0; i < 200; i++ {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		if p >= high {
			t.Fatalf("port %d is in the ephemeral range (from %d)", p, high)
		}
		seen[p] = true
	}
}
