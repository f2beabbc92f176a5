package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTableReadsWhatRowWrites(t *testing.T) {
	want := Row{Scenario: "1 node", Workload: "list limit=100, name filter (indexed)", Concurrency: 8, RPS: 22697,
		P50: 300 * time.Microsecond, P90: 480 * time.Microsecond, P99: 1980 * time.Microsecond, Max: 46080 * time.Microsecond, Errors: 2}
	md := "# title\n\n" + TableHeader + want.Markdown() + "\n- a note | with a bar\n"
	rows, bad, err := ParseTable(md)
	if err != nil || len(bad) > 0 || len(rows) != 1 {
		t.Fatalf("rows %v bad %v err %v", rows, bad, err)
	}
	if rows[0] != want {
		t.Fatalf("got %+v, want %+v", rows[0], want)
	}
}

func TestParseTableSkipsBadRowsAndFindsColumnsByName(t *testing.T) {
	md := "| scenario | concurrency | workload | req/s | p99 |\n|--|--|--|--|--|\n" +
		"| 1 node | 4 | show | 100 | 2.50 ms |\n" +
		"| 1 node | four | show | 100 | 2.50 ms |\n" +
		"| 1 node | 8 | show | 120 | 1s |\n"
	rows, bad, err := ParseTable(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Concurrency != 4 || rows[0].P99 != 2500*time.Microsecond || rows[1].P99 != time.Second {
		t.Fatalf("rows %+v", rows)
	}
	if len(bad) != 1 || !strings.Contains(bad[0], "line 4") {
		t.Fatalf("bad %q", bad)
	}
	if _, _, err := ParseTable("# amphorae\n\nno table here\n"); err == nil {
		t.Fatal("a file without a results table parsed")
	}
}

func TestCompareTestdataPair(t *testing.T) {
	old, bad, err := ParseFile("testdata/results-20261123-081435.md")
	if err != nil || len(bad) > 0 || len(old) != 12 {
		t.Fatalf("old: %d rows, bad %v, err %v", len(old), bad, err)
	}
	cur, bad, err := ParseFile("testdata/results-20261201-060400.md")
	if err != nil || len(bad) > 0 || len(cur) != 13 {
		t.Fatalf("new: %d rows, bad %v, err %v", len(cur), bad, err)
	}
	changes := Compare(old, cur, DefaultThresholds)
	if len(changes) != 14 { // 13 new rows, one gone
		t.Fatalf("%d changes", len(changes))
	}
	find := func(scenario, workload string, c int) Change {
		t.Helper()
		for _, ch := range changes {
			r := ch.New
			if r == nil {
				r = ch.Old
			}
			if r.Scenario == scenario && r.Workload == workload && r.Concurrency == c {
				return ch
			}
		}
		t.Fatalf("no change for %s / %s / %d", scenario, workload, c)
		return Change{}
	}
	// 5201 → 5620 req/s, p99 49.50 → 60.98 ms (+23.2%: under the 25% threshold).
	if ch := find("1 node", "create", 64); math.Abs(ch.RPSDelta-8.06) > 0.01 || math.Abs(ch.P99Delta-23.19) > 0.01 || ch.Regressed != nil {
		t.Errorf("create 64: %+v", ch)
	}
	// 6389 → 4833 req/s: −24.4%.
	if ch := find("1 node", "list limit=100 of 100k (first page)", 4); strings.Join(ch.Regressed, ",") != "req/s" {
		t.Errorf("list 4: %+v", ch)
	}
	// 31160 → 27680 req/s: −11.2%.
	if ch := find("1 node", "show", 64); strings.Join(ch.Regressed, ",") != "req/s" {
		t.Errorf("show: %+v", ch)
	}
	if ch := find("3 nodes", "show (round-robin over nodes)", 64); strings.Join(ch.Regressed, ",") != "errors" {
		t.Errorf("3-node show: %+v", ch)
	}
	if ch := find("1 node", "create", 16); ch.Old != nil || !math.IsNaN(ch.RPSDelta) || ch.Regressed != nil {
		t.Errorf("create 16 is new: %+v", ch)
	}
	if ch := changes[len(changes)-1]; ch.New != nil || ch.Old.Workload != "preload (create)" {
		t.Errorf("the preload is gone, last: %+v", ch)
	}

	oldMD, _ := os.ReadFile("testdata/results-20261123-081435.md")
	curMD, _ := os.ReadFile("testdata/results-20261201-060400.md")
	oldMem, ok1 := ParseMemory(string(oldMD))
	curMem, ok2 := ParseMemory(string(curMD))
	if !ok1 || !ok2 || oldMem != (Memory{LoadBalancers: 100000, LiveHeap: 1011, HeapSpans: 2282, RSS: 6876}) {
		t.Fatalf("memory notes: %v %+v %v %+v", ok1, oldMem, ok2, curMem)
	}
	md := Comparison{Baseline: "results-20261123-081435.md", Thresholds: DefaultThresholds, Changes: changes,
		OldMemory: &oldMem, NewMemory: &curMem}.Markdown()
	for _, want := range []string{
		"## Compared with results-20261123-081435.md\n",
		"**" + RegressionMark + ": 5 of 11 rows, and memory**",
		"\nMemory per load balancer at 100000 → 100000 load balancers: live heap 1011 → 1710 B (**+69.1%**), " +
			"heap spans 2282 → 4010 B (+75.7%), RSS growth 6876 → 11721 B (**+70.5%**) **" + RegressionMark + "** (live heap, RSS growth).\n",
		"2 rows new, 1 gone",
		"| 1 node | create | 64 | 5201 → 5620 | +8.1% | 49.50 ms → 60.98 ms | +23.2% |  |\n",
		"| 1 node | list limit=100 of 100k (random marker) | 4 | 5460 → 3794 | **-30.5%** | 4.85 ms → 5.74 ms | +18.4% | **" + RegressionMark + "** (req/s) |\n",
		"| 1 node | create | 16 | – → 3810 |  | – → 21.40 ms |  | new |\n",
		"| 1 node | preload (create) | 128 | 5671 → – |  | 95.23 ms → – |  | gone |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestCompareRepeatedRowsPairInOrder(t *testing.T) {
	old := []Row{{Scenario: "s", Workload: "w", Concurrency: 1, RPS: 100}, {Scenario: "s", Workload: "w", Concurrency: 1, RPS: 200}}
	cur := []Row{{Scenario: "s", Workload: "w", Concurrency: 1, RPS: 100}, {Scenario: "s", Workload: "w", Concurrency: 1, RPS: 100}}
	ch := Compare(old, cur, DefaultThresholds)
	if len(ch) != 2 || ch[0].RPSDelta != 0 || ch[1].RPSDelta != -50 || ch[1].Regressed[0] != "req/s" {
		t.Fatalf("%+v", ch)
	}
}

func TestPreviousResults(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"results-20261123-081435.md", "results-20261201-060400.md", "latest.md",
		"results-20261201-060400-throughput.svg", "leases-20261201-070000.md", "results-20261201-090000.md", "results-notes.md"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for current, want := range map[string]string{
		"results-20261201-080000.md": "results-20261201-060400.md",
		"results-20261201-090000.md": "results-20261201-060400.md", // itself never
		"results-20261201-100000.md": "results-20261201-090000.md",
		"results-20261123-081435.md": "",
	} {
		got, err := PreviousResults(dir, "results-", filepath.Join(dir, current))
		if err != nil {
			t.Fatal(err)
		}
		if want != "" {
			want = filepath.Join(dir, want)
		}
		if got != want {
			t.Errorf("before %s: got %q, want %q", current, got, want)
		}
	}
	if got, err := PreviousResults(filepath.Join(dir, "missing"), "results-", "results-20261201-100000.md"); got != "" || err != nil {
		t.Errorf("missing dir: %q %v", got, err)
	}
}

func TestMemoryNotes(t *testing.T) {
	if _, ok := ParseMemory("# amphorae\n\n- heartbeats: 1000\n"); ok {
		t.Fatal("a file without a memory note has one")
	}
	// A note with one figure only, and a different count: compared, not flagged.
	m, ok := ParseMemory("- memory at 1000000 load balancers: process RSS grew 2900 bytes per load balancer\n")
	if !ok || m != (Memory{LoadBalancers: 1000000, RSS: 2900}) {
		t.Fatalf("%v %+v", ok, m)
	}
	line, regressed := memoryChange(Memory{LoadBalancers: 100000, RSS: 2000}, m, DefaultThresholds)
	if regressed != nil || line != "Memory per load balancer at 100000 → 1000000 load balancers: RSS growth 2000 → 2900 B (+45.0%) (different counts: not flagged).\n" {
		t.Fatalf("%q %v", line, regressed)
	}
}

func TestReadResults(t *testing.T) {
	r, err := ReadResults("testdata/results-20261201-060400.md")
	if err != nil || len(r.Rows) != 13 || len(r.Bad) != 0 || r.Memory == nil || r.Memory.RSS != 11721 {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ReadResults("testdata/README.md"); err == nil {
		t.Fatal("a file without a table read as results")
	}
}
