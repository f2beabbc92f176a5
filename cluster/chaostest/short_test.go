package chaostest

import (
	"testing"
	"time"
)

// TestChaosShort is the chaos suite's smoke run inside `make test`: a 3-node
// cluster under 8 clients, the leader killed and restarted once, then the new
// leader cut off by a full partition (a pause if iptables is not usable), 20 s in
// all, with every check of the full suite. `make chaos` runs every scenario.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	Run(t, Config{Scenario: "short", Faults: []string{KillLeader, PartitionLead}, Trees: 4, Duration: 20 * time.Second})
}
