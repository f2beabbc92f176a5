package main

import (
	"strings"
	"testing"
	"time"
)

func TestUnionLength(t *testing.T) {
	at := time.Unix(0, 0)
	ms := func(start, took int) timedSpan {
		return timedSpan{at.Add(time.Duration(start) * time.Millisecond), time.Duration(took) * time.Millisecond}
	}
	cases := []struct {
		spans []timedSpan
		want  time.Duration
	}{
		{nil, 0},
		{[]timedSpan{ms(0, 10)}, 10 * time.Millisecond},
		// three probes seeing one stall, and a later one: 100 + 40 ms
		{[]timedSpan{ms(500, 40), ms(0, 100), ms(2, 98), ms(1, 95)}, 140 * time.Millisecond},
		// overlapping in a chain
		{[]timedSpan{ms(0, 50), ms(40, 50), ms(80, 20)}, 100 * time.Millisecond},
	}
	for i, c := range cases {
		if got := unionLength(c.spans); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}

func TestDiskReportAttributesCreatesToStalls(t *testing.T) {
	at := time.Unix(0, 0)
	span := func(start, took int) timedSpan {
		return timedSpan{at.Add(time.Duration(start) * time.Millisecond), time.Duration(took) * time.Millisecond}
	}
	syncs := []timedSpan{span(0, 1), span(20, 1), span(40, 200), span(260, 1)}
	creates := []timedSpan{
		span(0, 10),   // fast, before the stall
		span(30, 220), // slow, across the stall
		span(250, 80), // slow, after it: keel's own
		span(300, 5),
	}
	got := diskReport("probe:", syncs, creates, time.Second)
	for _, want := range []string{
		"(4 syncs)", "1 stalls of 30ms or more, covering 200ms (20.0% of the run)",
		"Creates slower than 50 ms: 2 of 4 (50.0%); 1 of them were in flight during a disk stall",
		"The 3 creates that met no stall",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
