package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Thresholds say when a row has regressed: its throughput fell by RPSDrop percent
// or more, or its p99 rose by P99Rise percent or more; and when memory has: live
// heap or RSS growth per load balancer up by MemoryRise percent or more. One run
// each on a shared 2-core machine moves by several percent on its own, so the
// defaults flag only what is unlikely to be noise.
type Thresholds struct {
	RPSDrop    float64
	P99Rise    float64
	MemoryRise float64
}

// DefaultThresholds flag throughput −10% or worse, p99 +25% or worse and memory
// +25% or worse.
var DefaultThresholds = Thresholds{RPSDrop: 10, P99Rise: 25, MemoryRise: 25}

// Change is one row of a comparison: Old is nil for a row only the new run has,
// New is nil for a row only the old one had.
type Change struct {
	Old, New *Row
	// RPSDelta and P99Delta are percent changes, NaN when a side is missing or
	// the old value was zero.
	RPSDelta, P99Delta float64
	// Regressed names what regressed ("req/s", "p99", "errors"); empty if nothing.
	Regressed []string
}

// Comparison is a run's table set against a baseline results file.
type Comparison struct {
	Baseline   string // the baseline's file name, as the section names it
	Thresholds Thresholds
	Changes    []Change
	// Bad are the baseline's lines that did not parse (see ParseTable).
	Bad []string
	// OldMemory and NewMemory are the two files' memory notes, if both have one.
	OldMemory, NewMemory *Memory
}

type rowKey struct {
	scenario, workload string
	concurrency, nth   int
}

// keys names each row by scenario, workload and concurrency; a combination that
// appears twice is told apart by its order (nth).
func keys(rows []Row) []rowKey {
	seen := map[rowKey]int{}
	out := make([]rowKey, len(rows))
	for i, r := range rows {
		k := rowKey{r.Scenario, r.Workload, r.Concurrency, 0}
		k.nth = seen[k]
		seen[rowKey{r.Scenario, r.Workload, r.Concurrency, 0}]++
		out[i] = k
	}
	return out
}

// Compare matches the new rows to the old by scenario, workload and concurrency.
// Changes follow the new table's order; rows the new run no longer has come last,
// in the old table's order.
func Compare(old, cur []Row, th Thresholds) []Change {
	oldKeys := keys(old)
	byKey := make(map[rowKey]int, len(old))
	for i, k := range oldKeys {
		byKey[k] = i
	}
	matched := make([]bool, len(old))
	var out []Change
	for i, k := range keys(cur) {
		c := Change{New: &cur[i], RPSDelta: math.NaN(), P99Delta: math.NaN()}
		if j, ok := byKey[k]; ok {
			matched[j] = true
			c.Old = &old[j]
			c.RPSDelta = percent(c.Old.RPS, c.New.RPS)
			c.P99Delta = percent(float64(c.Old.P99), float64(c.New.P99))
			if c.RPSDelta <= -th.RPSDrop {
				c.Regressed = append(c.Regressed, "req/s")
			}
			if c.P99Delta >= th.P99Rise {
				c.Regressed = append(c.Regressed, "p99")
			}
			if c.Old.Errors == 0 && c.New.Errors > 0 {
				c.Regressed = append(c.Regressed, "errors")
			}
		}
		out = append(out, c)
	}
	for j := range old {
		if !matched[j] {
			out = append(out, Change{Old: &old[j], RPSDelta: math.NaN(), P99Delta: math.NaN()})
		}
	}
	return out
}

func percent(old, cur float64) float64 {
	if old == 0 {
		return math.NaN()
	}
	return (cur - old) / old * 100
}

// Regressions are the changes that regressed.
func (c Comparison) Regressions() []Change {
	var out []Change
	for _, ch := range c.Changes {
		if len(ch.Regressed) > 0 {
			out = append(out, ch)
		}
	}
	return out
}

// RegressionMark starts the last cell of a regressed row, so that a regression
// shows at a glance and can be searched for.
const RegressionMark = "⚠ REGRESSION"

// Markdown is the comparison as a results-file section: a summary line, then per
// row old → new req/s and p99 with their changes.
func (c Comparison) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Compared with %s\n\n", c.Baseline)
	var regressed, added, gone int
	for _, ch := range c.Changes {
		switch {
		case ch.Old == nil:
			added++
		case ch.New == nil:
			gone++
		case len(ch.Regressed) > 0:
			regressed++
		}
	}
	var memLine string
	var memRegressed []string
	if c.OldMemory != nil && c.NewMemory != nil {
		memLine, memRegressed = memoryChange(*c.OldMemory, *c.NewMemory, c.Thresholds)
	}
	summary := "no regressions"
	switch {
	case regressed > 0 && len(memRegressed) > 0:
		summary = fmt.Sprintf("**%s: %d of %d rows, and memory**", RegressionMark, regressed, len(c.Changes)-added-gone)
	case regressed > 0:
		summary = fmt.Sprintf("**%s: %d of %d rows**", RegressionMark, regressed, len(c.Changes)-added-gone)
	case len(memRegressed) > 0:
		summary = fmt.Sprintf("**%s: memory**", RegressionMark)
	}
	fmt.Fprintf(&b, "%s (req/s %s%% or worse, p99 +%s%% or worse, errors where there were none, memory per load balancer +%s%% or worse)", summary,
		trimFloat(-c.Thresholds.RPSDrop), trimFloat(c.Thresholds.P99Rise), trimFloat(c.Thresholds.MemoryRise))
	if added > 0 || gone > 0 {
		fmt.Fprintf(&b, "; %d rows new, %d gone", added, gone)
	}
	b.WriteString(". One run each on a shared machine: changes of a few percent are noise.\n\n")
	b.WriteString("| scenario | workload | concurrency | req/s old → new | Δ req/s | p99 old → new | Δ p99 | |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, ch := range c.Changes {
		r, mark := ch.New, ""
		switch {
		case ch.Old == nil:
			mark = "new"
		case ch.New == nil:
			r, mark = ch.Old, "gone"
		case len(ch.Regressed) > 0:
			mark = "**" + RegressionMark + "** (" + strings.Join(ch.Regressed, ", ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s → %s | %s | %s → %s | %s | %s |\n", r.Scenario, r.Workload, r.Concurrency,
			rpsOf(ch.Old), rpsOf(ch.New), delta(ch.RPSDelta, slices.Contains(ch.Regressed, "req/s")),
			p99Of(ch.Old), p99Of(ch.New), delta(ch.P99Delta, slices.Contains(ch.Regressed, "p99")), mark)
	}
	if memLine != "" {
		fmt.Fprintf(&b, "\n%s", memLine)
	}
	if len(c.Bad) > 0 {
		fmt.Fprintf(&b, "\nLines of %s that did not parse (left out):\n", c.Baseline)
		for _, l := range c.Bad {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	return b.String()
}

func rpsOf(r *Row) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f", r.RPS)
}

func p99Of(r *Row) string {
	if r == nil {
		return "–"
	}
	return Millis(r.P99)
}

// delta formats a percent change with its sign, bold when it is the regression.
func delta(p float64, regressed bool) string {
	if math.IsNaN(p) {
		return ""
	}
	s := fmt.Sprintf("%+.1f%%", p)
	if regressed {
		s = "**" + s + "**"
	}
	return s
}

func trimFloat(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", f), ".0") }
