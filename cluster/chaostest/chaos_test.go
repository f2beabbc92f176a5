//go:build chaos

package chaostest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	chaosDuration  = flag.Duration("chaos.duration", 30*time.Second, "workload and nemesis time of each run")
	chaosRuns      = flag.Int("chaos.runs", 1, "runs of each scenario")
	chaosScenarios = flag.String("chaos.scenarios", strings.Join(Scenarios, ","), "comma-separated scenarios")
	chaosOut       = flag.String("chaos.out", "", "markdown results table to write (default: none)")
	chaosSeed      = flag.Int64("chaos.seed", 0, "seed of the first run (0: the time); run i uses seed+i")
)

// TestChaos runs every scenario -chaos.runs times and tabulates what each run
// found. Runs go on after a failing one, so the table is complete.
func TestChaos(t *testing.T) {
	var (
		mu      sync.Mutex
		results []*Result
	)
	i := 0
	for run := 1; run <= *chaosRuns; run++ {
		for _, sc := range strings.Split(*chaosScenarios, ",") {
			sc = strings.TrimSpace(sc)
			seed := int64(0)
			if *chaosSeed != 0 {
				seed = *chaosSeed + int64(i)
			}
			i++
			t.Run(fmt.Sprintf("%s/%d", sc, run), func(t *testing.T) {
				r := Run(t, Config{Scenario: sc, Duration: *chaosDuration, Seed: seed})
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	}
	if *chaosOut != "" {
		if err := os.MkdirAll(filepath.Dir(*chaosOut), 0o755); err != nil {
			t.Fatal(err)
		}
		title := fmt.Sprintf("keel chaos results (%d runs of %v)", len(results), *chaosDuration)
		if err := WriteTable(*chaosOut, title, results); err != nil {
			t.Fatal(err)
		}
		t.Logf("results in %s", *chaosOut)
	}
}
