package systemtest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
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

// A port another test process handed out (and still runs) is never handed out
// here, even though nothing listens on it: that process may restart a node on it.
func TestFreePortSkipsPortsOtherProcessesHold(t *testing.T) {
	if os.Getenv("KEEL_TEST_HOLD_PORT") != "" {
		fmt.Println(FreePort(t)) // the parent reads the port, then closes our stdin
		_, _ = io.Copy(io.Discard, os.Stdin)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFreePortSkipsPortsOtherProcessesHold$")
	cmd.Env = append(os.Environ(), "KEEL_TEST_HOLD_PORT=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	var held int
	if _, err := fmt.Fscan(out, &held); err != nil {
		t.Fatalf("reading the child's port: %v", err)
	}
	if reservePort(held) {
		t.Fatalf("port %d, held by another test process, was reserved here too", held)
	}
	stdin.Close()
	_ = cmd.Wait()
	// Once that process is gone, its ports are free to hand out again.
	if !reservePort(held) {
		t.Fatalf("port %d still held after its process exited", held)
	}
}
