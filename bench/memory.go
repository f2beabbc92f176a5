package bench

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Memory is the memory note of a results file ("- memory at 100000 load balancers,
// …"): bytes per stored load balancer, each zero when the note lacks it.
type Memory struct {
	LoadBalancers int
	LiveHeap      float64 // live Go heap after GC
	HeapSpans     float64 // heap spans in use
	RSS           float64 // process RSS growth
}

var (
	memoryNote = regexp.MustCompile(`(?m)^- memory at (\d+) load balancers\b.*$`)
	memoryFigs = []struct {
		re *regexp.Regexp
		to func(*Memory) *float64
	}{
		{regexp.MustCompile(`live Go heap after GC (\d+(?:\.\d+)?) bytes per load balancer`), func(m *Memory) *float64 { return &m.LiveHeap }},
		{regexp.MustCompile(`heap spans in use (\d+(?:\.\d+)?) bytes per load balancer`), func(m *Memory) *float64 { return &m.HeapSpans }},
		{regexp.MustCompile(`process RSS grew (-?\d+(?:\.\d+)?) bytes per load balancer`), func(m *Memory) *float64 { return &m.RSS }},
	}
)

// ParseMemory finds the memory note of a results file; ok is false without one.
// Each figure is looked for by its words, so a note that gains or loses one
// still reads.
func ParseMemory(md string) (m Memory, ok bool) {
	line := memoryNote.FindStringSubmatch(md)
	if line == nil {
		return m, false
	}
	m.LoadBalancers, _ = strconv.Atoi(line[1])
	for _, f := range memoryFigs {
		if sub := f.re.FindStringSubmatch(line[0]); sub != nil {
			*f.to(&m), _ = strconv.ParseFloat(sub[1], 64)
		}
	}
	return m, true
}

// memoryChange compares two memory notes: the markdown line, and what regressed
// (live heap or RSS up by th.MemoryRise percent or more at the same count).
func memoryChange(old, cur Memory, th Thresholds) (string, []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Memory per load balancer at %d → %d load balancers:", old.LoadBalancers, cur.LoadBalancers)
	same := old.LoadBalancers == cur.LoadBalancers
	var regressed, parts []string
	for _, f := range []struct {
		name     string
		old, cur float64
		flag     bool
	}{
		{"live heap", old.LiveHeap, cur.LiveHeap, true},
		{"heap spans", old.HeapSpans, cur.HeapSpans, false},
		{"RSS growth", old.RSS, cur.RSS, true},
	} {
		if f.old == 0 && f.cur == 0 {
			continue
		}
		p := percent(f.old, f.cur)
		bad := same && f.flag && p >= th.MemoryRise
		if bad {
			regressed = append(regressed, f.name)
		}
		s := fmt.Sprintf("%s %.0f → %.0f B", f.name, f.old, f.cur)
		if d := delta(p, bad); d != "" {
			s += " (" + d + ")"
		}
		parts = append(parts, s)
	}
	b.WriteString(" " + strings.Join(parts, ", "))
	if len(regressed) > 0 {
		b.WriteString(" **" + RegressionMark + "** (" + strings.Join(regressed, ", ") + ")")
	}
	if !same {
		b.WriteString(" (different counts: not flagged)")
	}
	b.WriteString(".\n")
	return b.String(), regressed
}
