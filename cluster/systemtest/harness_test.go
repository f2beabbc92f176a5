package systemtest

import "testing"

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
