package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"keel/cluster/systemtest"
)

// The scale scenario (issue 14 item 5): one node holding N load balancers at
// rest (created through the API, grains passivated, the request table
// drained). It reports the memory they cost — the kernel's resident set, split
// into anonymous and file-backed pages (mmapped bolt files — raft.db, the Raft log with -raft-log-store bolt — are file-backed:
// page cache the kernel may drop, but counted in RSS), and the Go runtime's
// heap — then a snapshot asked for through POST /debug/snapshot, and a kill -9
// and restart: the restore of that snapshot (keeld's own figure) and the time
// from process start until GET /v2/lbaas/loadbalancers?limit=1 answers with a
// load balancer. make bench runs it at 100k, make bench-scale at 1M.

// fullMemory is GET /debug/memory.
type fullMemory struct {
	HeapAlloc          int64 `json:"heap_alloc"`
	HeapInuse          int64 `json:"heap_inuse"`
	HeapIdle           int64 `json:"heap_idle"`
	HeapReleased       int64 `json:"heap_released"`
	StackInuse         int64 `json:"stack_inuse"`
	Sys                int64 `json:"sys"`
	NextGC             int64 `json:"next_gc"`
	GOGC               int64 `json:"gogc"`
	MemoryLimit        int64 `json:"memory_limit"`
	RSS                int64 `json:"rss"`
	RSSAnon            int64 `json:"rss_anon"`
	RSSFile            int64 `json:"rss_file"`
	LoadBalancers      int64 `json:"load_balancers"`
	ActiveGrains       int64 `json:"active_grains"`
	RememberedRequests int64 `json:"remembered_requests"`
}

// waitAtRest waits until the node holds its data at rest after a burst of
// writes: the grains that made it passivated (idle timeout), the FSM's request
// table drained (deadlines passed), and what the burst freed returned to the OS.
func waitAtRest(r *runner, c *client, timeout time.Duration) {
	time.Sleep(idleTimeout + 5*time.Second)
	systemtest.Eventually(r, timeout, "grains passivated and the request table drained", func() bool {
		m, err := readFullMemory(c)
		return err == nil && m.RememberedRequests == 0 && m.ActiveGrains == 0
	})
	waitReleased(c)
}

// waitReleased waits, up to 40 s, for keeld to return the free heap a burst
// left to the OS, which it does once its writes have been quiet for a while
// (cmd/keeld/memory.go).
func waitReleased(c *client) {
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		if m, err := readFullMemory(c); err == nil && m.HeapIdle-m.HeapReleased < 32<<20 {
			return
		}
		time.Sleep(2 * time.Second)
	}
}

func readFullMemory(c *client) (fullMemory, error) {
	var m fullMemory
	body, err := c.do("GET", "/debug/memory", nil, 200)
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	return m, err
}

// snapshotFigures is GET or POST /debug/snapshot.
type snapshotFigures struct {
	Index           int64 `json:"index"`
	Records         int64 `json:"records"`
	Bytes           int64 `json:"bytes"`
	PersistMs       int64 `json:"persist_ms"`
	TookMs          int64 `json:"took_ms"`
	RestoredRecords int64 `json:"restored_records"`
	RestoreMs       int64 `json:"restore_ms"`
}

func readSnapshotFigures(c *client, method string) (snapshotFigures, error) {
	var s snapshotFigures
	body, err := c.do(method, "/debug/snapshot", nil, 200)
	if err == nil {
		err = json.Unmarshal(body, &s)
	}
	return s, err
}

// scaleRow is one line of the scenario's table.
type scaleRow struct{ what, value string }

func scale(r *runner, lbs int, extraArgs []string, heapProfile string) string {
	n := systemtest.NewNode(r, "scale1")
	n.ExtraArgs = append(n.ExtraArgs, extraArgs...)
	n.Start()
	systemtest.Eventually(r, 30*time.Second, "node healthy", n.Healthy)
	c := newClient(n.HTTPAddr, 256)
	c.hc.ReadTimeout = 5 * time.Minute // a snapshot of 1M answers when it is written
	base, err := readFullMemory(c)
	if err != nil {
		r.Fatalf("memory: %v", err)
	}

	start := time.Now()
	prog := startProgress(fmt.Sprintf("scale: preloading %d load balancers", lbs), lbs)
	_, res := createMany("preload (create)", []*client{c}, 128, lbs, 4*time.Hour, prog)
	prog.Finish()
	preload := time.Since(start)
	fmt.Println("scale", res)
	if res.Errors > 0 {
		r.Fatalf("scale: %d preload errors, first: %s", res.Errors, res.FirstError)
	}
	systemtest.Eventually(r, 5*time.Minute, "preloaded load balancers ACTIVE", func() bool {
		body, err := c.do("GET", "/v2/lbaas/loadbalancers?provisioning_status=PENDING_CREATE&limit=1&fields=id", nil, 200)
		return err == nil && bytes.Contains(body, []byte(`"loadbalancers":[]`))
	})
	waitAtRest(r, c, 2*time.Minute)
	rest, err := readFullMemory(c)
	if err != nil {
		r.Fatalf("memory: %v", err)
	}
	logBytes, snapDirBytes := dirSizes(n.DataDir)
	count := rest.LoadBalancers - base.LoadBalancers
	if heapProfile != "" {
		if body, err := c.do("GET", "/debug/pprof/heap?gc=1", nil, 200); err == nil {
			_ = os.WriteFile(heapProfile, body, 0o644)
		}
	}

	snap, err := readSnapshotFigures(c, "POST")
	if err != nil {
		r.Fatalf("snapshot: %v", err)
	}
	time.Sleep(2 * time.Second)
	afterSnap, _ := readFullMemory(c)

	// kill -9 and start again on the same data dir.
	n.Kill()
	restart := time.Now()
	n.Start()
	var serving time.Duration
	systemtest.Eventually(r, 5*time.Minute, "restarted node serving its load balancers", func() bool {
		body, err := c.do("GET", "/v2/lbaas/loadbalancers?limit=1&fields=id", nil, 200)
		if err == nil && bytes.Contains(body, []byte(`"id"`)) {
			serving = time.Since(restart)
			return true
		}
		time.Sleep(20 * time.Millisecond)
		return false
	})
	restored, err := readSnapshotFigures(c, "GET")
	if err != nil {
		r.Fatalf("snapshot figures after restart: %v", err)
	}
	time.Sleep(3 * time.Second)
	waitReleased(c)
	again, err := readFullMemory(c)
	if err != nil {
		r.Fatalf("memory after restart: %v", err)
	}
	if heapProfile != "" { // the same rows, restored: what the burst left is the difference
		if body, err := c.do("GET", "/debug/pprof/heap?gc=1", nil, 200); err == nil {
			_ = os.WriteFile(heapProfile+".restarted", body, 0o644)
		}
	}
	if again.LoadBalancers != rest.LoadBalancers {
		r.Fatalf("restart lost load balancers: %d before, %d after", rest.LoadBalancers, again.LoadBalancers)
	}
	n.Kill()

	per := func(after, before int64) string {
		return fmt.Sprintf("%.0f B", float64(after-before)/float64(count))
	}
	rows := []scaleRow{
		{"load balancers stored", fmt.Sprint(count)},
		{"preload through the API (c=128)", fmt.Sprintf("%.0f s, %.0f creates/s", preload.Seconds(), res.RPS())},
		{"RSS per load balancer, total (grew from empty)", per(rest.RSS, base.RSS)},
		{"  anonymous (Go heap, stacks)", per(rest.RSSAnon, base.RSSAnon)},
		{"  file-backed (binary, mmapped bolt files)", per(rest.RSSFile, base.RSSFile)},
		{"RSS in all / per load balancer", fmt.Sprintf("%s / %.0f B", mib(rest.RSS), float64(rest.RSS)/float64(count))},
		{"live Go heap per load balancer (after GC)", per(rest.HeapAlloc, base.HeapAlloc)},
		{"heap spans in use per load balancer", per(rest.HeapInuse, base.HeapInuse)},
		{"heap idle, not returned to the OS", mib(rest.HeapIdle - rest.HeapReleased)},
		{"Go runtime sys (all it mapped)", mib(rest.Sys)},
		{"Raft log (WAL segments and raft.db) / snapshots on disk at rest", fmt.Sprintf("%s / %s", mib(logBytes), mib(snapDirBytes))},
		{"GOGC / memory limit", fmt.Sprintf("%d / %s", rest.GOGC, limit(rest.MemoryLimit))},
		{"snapshot (POST /debug/snapshot: capture, write, log compaction)", fmt.Sprintf("%d ms (persist %d ms), %s, %d records",
			snap.TookMs, snap.PersistMs, mib(snap.Bytes), snap.Records)},
		{"RSS per load balancer after the snapshot, total / anon / file", fmt.Sprintf("%s / %s / %s",
			per(afterSnap.RSS, base.RSS), per(afterSnap.RSSAnon, base.RSSAnon), per(afterSnap.RSSFile, base.RSSFile))},
		{"restore of that snapshot at start (keeld's figure)", fmt.Sprintf("%d ms, %d records", restored.RestoreMs, restored.RestoredRecords)},
		{"restart (kill -9) to serving GET ?limit=1 with the data", fmt.Sprintf("%.2f s", serving.Seconds())},
		{"RSS per load balancer after the restart, total / anon / file", fmt.Sprintf("%s / %s / %s",
			per(again.RSS, base.RSS), per(again.RSSAnon, base.RSSAnon), per(again.RSSFile, base.RSSFile))},
		{"live Go heap per load balancer after the restart", per(again.HeapAlloc, base.HeapAlloc)},
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "## Memory and scale: %d load balancers on one node\n\n", count)
	fmt.Fprintf(b, "At rest: grains passivated, request table drained. Per load balancer = (figure − the empty node's) / count. keeld flags: `%s`.\n\n",
		strings.Join(extraArgs, " "))
	fmt.Fprintf(b, "| measure | value |\n|---|---|\n")
	for _, row := range rows {
		fmt.Fprintf(b, "| %s | %s |\n", row.what, row.value)
	}
	return b.String()
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func limit(b int64) string {
	if b <= 0 || b >= 1<<62 {
		return "none"
	}
	return mib(b)
}

// dirSizes are the sizes of a node's Raft log on disk (its WAL's segment files,
// preallocated, and bolt's raft.db: the stable store, and the log with
// -raft-log-store bolt) and of its snapshot directory.
func dirSizes(dataDir string) (log, snapshots int64) {
	if fi, err := os.Stat(filepath.Join(dataDir, "raft", "raft.db")); err == nil {
		log = fi.Size()
	}
	log += treeSize(filepath.Join(dataDir, "raft", "wal"))
	return log, treeSize(filepath.Join(dataDir, "raft", "snapshots"))
}

func treeSize(dir string) (size int64) {
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	return size
}
