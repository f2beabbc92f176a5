package store

import (
	"errors"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// SnapshotStats describe the node's last snapshot and its last restore, for
// operators (GET/POST /debug/snapshot) and the benchmark.
type SnapshotStats struct {
	// Index is the Raft index the last snapshot taken here covers; Records the
	// records it streamed, Bytes its size, Persist how long streaming took.
	Index   uint64
	Records uint64
	Bytes   int64
	Persist time.Duration
	// Took is how long the last snapshot asked for (Node.Snapshot) took in all:
	// capture, persist, and Raft's log compaction after it.
	Took time.Duration
	// RestoredIndex, RestoredRecords and Restore describe the last snapshot read
	// back (at start, or one sent by the leader); zero if none was.
	RestoredIndex   uint64
	RestoredRecords uint64
	Restore         time.Duration
}

type snapshotStats struct {
	mu sync.Mutex
	s  SnapshotStats
}

func (t *snapshotStats) persisted(index, records uint64, bytes int64, took time.Duration) {
	t.mu.Lock()
	t.s.Index, t.s.Records, t.s.Bytes, t.s.Persist = index, records, bytes, took
	t.mu.Unlock()
}

func (t *snapshotStats) restored(index, records uint64, took time.Duration) {
	t.mu.Lock()
	t.s.RestoredIndex, t.s.RestoredRecords, t.s.Restore = index, records, took
	t.mu.Unlock()
}

func (t *snapshotStats) get() SnapshotStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.s
}

// SnapshotStats returns the last snapshot's and restore's figures.
func (s *StateStore) SnapshotStats() SnapshotStats { return s.snapshots.get() }

// ErrNothingToSnapshot: nothing was applied since the last snapshot.
var ErrNothingToSnapshot = errors.New("store: nothing new to snapshot")

// Snapshot takes a Raft snapshot now (as the SnapshotInterval and
// SnapshotThreshold would eventually) and compacts the log behind it, then
// reports its figures. For operators and the benchmark: after a bulk load it
// bounds the log a restart replays and the bolt pages it keeps touching.
func (n *Node) Snapshot() (SnapshotStats, error) {
	start := time.Now()
	f := n.raft.Snapshot()
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNothingNewToSnapshot) {
			return n.State().SnapshotStats(), ErrNothingToSnapshot
		}
		return SnapshotStats{}, err
	}
	took := time.Since(start)
	st := n.State().SnapshotStats()
	st.Took = took
	if meta, rc, err := f.Open(); err == nil {
		rc.Close()
		st.Index, st.Bytes = meta.Index, meta.Size
	}
	return st, nil
}

// gcPause turns the collector off while any restore runs (FSM.Restore), and
// back to what it was when the last one ends.
var gcPause struct {
	sync.Mutex
	n    int
	prev int
	off  bool // false: restores leave the collector alone (benchmarks compare)
}

func init() { gcPause.off = true }

func pauseGC() (resume func()) {
	gcPause.Lock()
	defer gcPause.Unlock()
	if !gcPause.off {
		return func() {}
	}
	if gcPause.n == 0 {
		gcPause.prev = debug.SetGCPercent(-1)
	}
	gcPause.n++
	return func() {
		gcPause.Lock()
		defer gcPause.Unlock()
		if gcPause.n--; gcPause.n == 0 {
			debug.SetGCPercent(gcPause.prev)
		}
	}
}
