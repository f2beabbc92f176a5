package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The disk under the nodes. Every create waits for fdatasync on two of the three
// nodes (the leader's log write, then a follower's), and on one machine all three
// share one disk, so the disk's own fdatasync latency bounds a create's. The probe
// measures it while the workload runs: it appends 4 KiB to a file next to the
// nodes' data and syncs it every diskProbeEvery, as a Raft log does, and the
// report names the stalls it saw and the creates that overlapped one.

const (
	diskProbeEvery = 20 * time.Millisecond
	// diskStall is an fdatasync slow enough to matter against a 50 ms goal.
	diskStall = 30 * time.Millisecond
)

// timedSpan is when something timed started and how long it took: one
// fdatasync of the probe, or one create of the generator.
type timedSpan struct {
	start time.Time
	took  time.Duration
}

func (s timedSpan) end() time.Time { return s.start.Add(s.took) }

// diskProbe times fdatasync on one file until stopped.
type diskProbe struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	syncs []timedSpan
	err   error
}

// startDiskProbe starts timing fdatasync in dir (a directory on the nodes' disk).
func startDiskProbe(dir string) *diskProbe {
	p := &diskProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(dir)
	return p
}

func (p *diskProbe) run(dir string) {
	defer close(p.done)
	f, err := os.CreateTemp(dir, "keelbench-diskprobe-")
	if err != nil {
		p.err = err
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var off int64
	t := time.NewTicker(diskProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			p.err = err
			return
		}
		off += int64(len(buf))
		start := time.Now()
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			p.err = err
			return
		}
		p.mu.Lock()
		p.syncs = append(p.syncs, timedSpan{start, time.Since(start)})
		p.mu.Unlock()
	}
}

// finish stops the probe and returns the fdatasyncs it timed.
func (p *diskProbe) finish() ([]timedSpan, error) {
	close(p.stop)
	<-p.done
	return p.syncs, p.err
}

// diskReport describes the fdatasyncs of probes (what says which, and where)
// and how the creates (the generator's, if any) line up with their stalls.
func diskReport(what string, syncs, creates []timedSpan, window time.Duration) string {
	var b strings.Builder
	if len(syncs) == 0 {
		return "Disk probe: no fdatasync timed.\n"
	}
	took := make([]time.Duration, len(syncs))
	var stalls []timedSpan
	for i, s := range syncs {
		took[i] = s.took
		if s.took >= diskStall {
			stalls = append(stalls, s)
		}
	}
	stalled := unionLength(stalls)
	slices.Sort(took)
	fmt.Fprintf(&b, "%s an fdatasync of 4 KiB every %s "+
		"(%d syncs): p50 %s, p99 %s, max %s; %d stalls of %s or more, covering %s (%.1f%% of the run).\n\n",
		what, diskProbeEvery, len(syncs), quantile(took, 0.5), quantile(took, 0.99), quantile(took, 1),
		len(stalls), diskStall, stalled.Round(time.Millisecond), 100*stalled.Seconds()/window.Seconds())
	if len(creates) == 0 {
		return b.String()
	}
	// A create "met a stall" when its span overlaps one: a disk stall holds every
	// log write on the machine, so no create in flight then can commit.
	overlaps := func(c timedSpan) bool {
		for _, s := range stalls {
			if c.start.Before(s.end()) && s.start.Before(c.end()) {
				return true
			}
		}
		return false
	}
	var slow, slowMet int
	var clear []time.Duration
	for _, c := range creates {
		met := overlaps(c)
		if c.took > 50*time.Millisecond {
			slow++
			if met {
				slowMet++
			}
		}
		if !met {
			clear = append(clear, c.took)
		}
	}
	slices.Sort(clear)
	fmt.Fprintf(&b, "Creates slower than 50 ms: %d of %d (%.1f%%); %d of them were in flight during a disk stall. "+
		"The %d creates that met no stall: p50 %s, p90 %s, p99 %s.\n",
		slow, len(creates), 100*float64(slow)/float64(len(creates)), slowMet,
		len(clear), quantile(clear, 0.5), quantile(clear, 0.9), quantile(clear, 0.99))
	return b.String()
}

// unionLength is the time the spans cover together (probes stall together: one
// stall of the disk is seen by each).
func unionLength(spans []timedSpan) time.Duration {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b timedSpan) int { return a.start.Compare(b.start) })
	var total time.Duration
	var cur timedSpan
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case s.start.After(cur.end()):
			total += cur.took
			cur = s
		case s.end().After(cur.end()):
			cur.took = s.end().Sub(cur.start)
		}
	}
	if len(spans) > 0 {
		total += cur.took
	}
	return total
}

// diskAlone times the disk with no keel running (keelbench -scenarios disk):
// three probes, one per node a 3-node run would have, in the directory the
// nodes' data would be in. Its stalls are the machine's, not keel's.
func diskAlone(d time.Duration) string {
	probes := make([]*diskProbe, 3)
	for i := range probes {
		probes[i] = startDiskProbe(os.TempDir())
	}
	start := time.Now()
	time.Sleep(d)
	window := time.Since(start)
	var all []timedSpan
	var errs []string
	for _, p := range probes {
		syncs, err := p.finish()
		if err != nil {
			errs = append(errs, err.Error())
		}
		all = append(all, syncs...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## The disk alone\n\n%s", diskReport(fmt.Sprintf("Three probes in %s for %s, no keel running, each timing", os.TempDir(), d), all, nil, window))
	if len(errs) > 0 {
		fmt.Fprintf(&b, "\nErrors: %s\n", strings.Join(errs, "; "))
	}
	return b.String()
}
