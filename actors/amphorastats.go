package actors

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"keel/actors/healthmap"
	"keel/agent/heartbeat"
	"keel/store"
	"keel/store/storepb"
)

// Traffic statistics, as Octavia's stats driver keeps them: per (amphora,
// listener), the heartbeats' deltas (bytes in and out, connections, request
// errors) added up, and the latest active connections (healthmap.Stats.Add). The
// amphora grain accumulates its heartbeats' counters in memory; the node's
// StatsFlusher writes the totals that changed to Raft every -stats-interval, in
// bounded RecordAmphoraStats commands. Nothing is written while no counter moves.
//
// What a node's death costs: the totals its grains accumulated since its last
// flush (at most one interval). The grain that takes over reads the stored totals
// (after a read barrier) and goes on from there.
//
// Every node's receiver hands each heartbeat to the grain (agents send to every
// node), so the grain counts a heartbeat only if it is newer, by (boot, seq), than
// the newest it counted; the stored rows keep that mark, so a grain taking over
// does not count again a copy delivered late by another node.

// maxWaitingBeats bounds the heartbeats a grain keeps while it reads the stored
// totals (a read barrier: milliseconds, unless there is no leader).
const maxWaitingBeats = 8

// amphoraStats is one amphora's counters per listener, as its grain holds them.
type amphoraStats struct {
	amphoraID string
	based     bool // totals start from the stored rows
	loading   bool // the stored rows are being read
	boot      int64
	seq       uint64 // (boot, seq): the newest heartbeat counted
	ts        int64  // its time (0: not known, the mark came from the stored rows)
	totals    map[string]*healthmap.Stats
	waiting   []statsBeat // heartbeats that arrived before the stored rows were read
}

// statsBeat is what a heartbeat reports of traffic.
type statsBeat struct {
	boot  int64
	seq   uint64
	ts    int64 // the message's time (unix ms)
	stats []healthmap.Stats
}

// statsLoaded carries the stored rows of the grain's amphora (or why they could
// not be read) back to the grain.
type statsLoaded struct {
	rows []*storepb.ListenerStatistics
	err  error
}

// add takes one heartbeat's counters and returns the rows whose totals changed
// (none while the stored totals are being read, or for a heartbeat already
// counted).
func (s *amphoraStats) add(b statsBeat) []*storepb.ListenerStatistics {
	if !s.based {
		if len(s.waiting) == maxWaitingBeats {
			s.waiting = s.waiting[1:]
		}
		s.waiting = append(s.waiting, b)
		return nil
	}
	// Counted: a heartbeat newer by (boot, seq) than the last counted. Also one
	// from another agent process with a lower boot but a later time: the verifier
	// lets a genuine agent take over again after a forged heartbeat with a future
	// boot (docs/heartbeat.md), and statistics must follow it, not wait for the
	// forged boot to pass. Copies from other nodes' receivers have the counted
	// (boot, seq) and are never counted twice.
	newer := store.HeartbeatAfter(b.boot, b.seq, s.boot, s.seq)
	switched := !newer && b.boot != s.boot && b.ts > s.ts
	if !newer && !switched {
		return nil // a copy from another node's receiver, or an older heartbeat
	}
	// A new agent process of an amphora already counted (the local driver
	// restarts only the agent, to give it new controllers; its haproxy keeps
	// running) reports haproxy's counters since haproxy started as its first
	// deltas: most of that was counted already. Its first heartbeat is a baseline
	// (only active connections are taken), losing at most one interval instead of
	// counting everything twice.
	restarted := s.boot != 0 && b.boot != s.boot
	s.boot, s.seq, s.ts = b.boot, b.seq, b.ts
	var changed []*storepb.ListenerStatistics
	for _, x := range b.stats {
		t := s.totals[x.ListenerID]
		if t == nil {
			t = &healthmap.Stats{ListenerID: x.ListenerID}
			s.totals[x.ListenerID] = t
		}
		before := *t
		if restarted {
			x = healthmap.Stats{ListenerID: x.ListenerID, ActiveConnections: x.ActiveConnections}
		}
		t.Add(x)
		if *t != before {
			changed = append(changed, s.row(t))
		}
	}
	return changed
}

// start makes the stored rows the totals to go on from, then counts the
// heartbeats that waited for them; it returns the rows that changed.
func (s *amphoraStats) start(rows []*storepb.ListenerStatistics) []*storepb.ListenerStatistics {
	s.based, s.loading = true, false
	s.totals = map[string]*healthmap.Stats{}
	for _, r := range rows {
		s.totals[r.ListenerId] = &healthmap.Stats{ListenerID: r.ListenerId, BytesIn: r.BytesIn, BytesOut: r.BytesOut,
			ActiveConnections: r.ActiveConnections, TotalConnections: r.TotalConnections, RequestErrors: r.RequestErrors}
		if store.HeartbeatAfter(r.HeartbeatBoot, r.HeartbeatSeq, s.boot, s.seq) {
			s.boot, s.seq = r.HeartbeatBoot, r.HeartbeatSeq
		}
	}
	changed := map[string]*storepb.ListenerStatistics{}
	for _, b := range s.waiting {
		for _, r := range s.add(b) {
			changed[r.ListenerId] = r
		}
	}
	s.waiting = nil
	out := make([]*storepb.ListenerStatistics, 0, len(changed))
	for _, r := range changed {
		out = append(out, r)
	}
	return out
}

func (s *amphoraStats) row(t *healthmap.Stats) *storepb.ListenerStatistics {
	return &storepb.ListenerStatistics{AmphoraId: s.amphoraID, ListenerId: t.ListenerID,
		BytesIn: t.BytesIn, BytesOut: t.BytesOut, ActiveConnections: t.ActiveConnections,
		TotalConnections: t.TotalConnections, RequestErrors: t.RequestErrors,
		HeartbeatBoot: s.boot, HeartbeatSeq: s.seq}
}

// recordStats adds a heartbeat's counters to the amphora's totals and hands the
// ones that changed to the node's flusher. The first heartbeat of an activation
// starts reading the stored totals (off the mailbox); heartbeats wait for them.
func (g *AmphoraGrain) recordStats(msg *heartbeat.Message, stats []healthmap.Stats) {
	if g.amp == nil || g.amp.Stats == nil {
		return
	}
	s := &g.stats
	s.amphoraID = g.id
	g.amp.Stats.Offer(s.add(statsBeat{boot: msg.Boot, seq: msg.Seq, ts: msg.Time, stats: stats})...)
	if s.based || s.loading {
		return
	}
	s.loading = true
	st, id, root, self := g.rt.Store, g.id, g.root, g.self
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var rows []*storepb.ListenerStatistics
		err := st.Barrier(ctx)
		if err == nil {
			rows = store.Collect(st.State().Current().ListenerStatistics, store.IndexAmphora, id)
		}
		root.Send(self, &statsLoaded{rows: rows, err: err})
	}()
}

// statsLoaded goes on from the stored totals (or, if they could not be read,
// lets the next heartbeat try again).
func (g *AmphoraGrain) statsLoaded(m *statsLoaded) {
	if m.err != nil {
		g.stats.loading = false
		g.rt.Logger.Debug("amphora statistics not read", "amphora", g.id, "err", m.err)
		return
	}
	g.amp.Stats.Offer(g.stats.start(m.rows)...)
}

// StatsFlusher is a node's writer of traffic statistics: grains offer the totals
// that changed, and every interval the flusher proposes the latest totals of each
// (amphora, listener) offered since its last flush, at most MaxRows per
// RecordAmphoraStats command. A flush that fails is retried with the next one
// (totals are absolute: the newest offer of a row replaces an unflushed one).
type StatsFlusher struct {
	store    Store
	interval time.Duration
	logger   *slog.Logger
	// MaxRows bounds one command (rows are ~150 bytes).
	MaxRows int

	mu    sync.Mutex
	dirty map[string]*storepb.ListenerStatistics // by store.ListenerStatisticsID

	writes   atomic.Uint64 // commands proposed
	started  atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// DefaultStatsInterval is how often a node writes statistics (-stats-interval).
const DefaultStatsInterval = 5 * time.Second

// NewStatsFlusher returns a flusher that writes every interval once started.
func NewStatsFlusher(st Store, interval time.Duration, logger *slog.Logger) *StatsFlusher {
	if interval <= 0 {
		interval = DefaultStatsInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &StatsFlusher{store: st, interval: interval, logger: logger, MaxRows: 512,
		dirty: map[string]*storepb.ListenerStatistics{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// Offer hands rows of totals to the next flush; a row replaces an unflushed
// one of the same amphora and listener.
func (f *StatsFlusher) Offer(rows ...*storepb.ListenerStatistics) {
	if len(rows) == 0 {
		return
	}
	f.mu.Lock()
	for _, r := range rows {
		f.dirty[store.ListenerStatisticsID(r.AmphoraId, r.ListenerId)] = r
	}
	f.mu.Unlock()
}

// Writes is how many RecordAmphoraStats commands the flusher proposed.
func (f *StatsFlusher) Writes() uint64 { return f.writes.Load() }

// Start flushes every interval until Stop.
func (f *StatsFlusher) Start() {
	f.started.Store(true)
	go func() {
		defer close(f.done)
		tick := time.NewTicker(f.interval)
		defer tick.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := f.Flush(ctx); err != nil {
					f.logger.Debug("statistics not written yet", "err", err)
				}
				cancel()
			}
		}
	}()
}

// Stop ends the flushing loop, then flushes what is left, within timeout.
func (f *StatsFlusher) Stop(timeout time.Duration) {
	f.stopOnce.Do(func() { close(f.stop) })
	if f.started.Load() {
		select {
		case <-f.done:
		case <-time.After(timeout):
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		f.logger.Debug("statistics not written at shutdown", "err", err)
	}
}

// Flush proposes what was offered since the last flush, in commands of at most
// MaxRows rows; rows of a command that fails go back to be flushed next time,
// unless newer totals were offered meanwhile.
func (f *StatsFlusher) Flush(ctx context.Context) error {
	f.mu.Lock()
	if len(f.dirty) == 0 {
		f.mu.Unlock()
		return nil
	}
	taken := f.dirty
	f.dirty = map[string]*storepb.ListenerStatistics{}
	f.mu.Unlock()
	ids := make([]string, 0, len(taken))
	for id := range taken {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for len(ids) > 0 {
		n := min(len(ids), max(f.MaxRows, 1))
		rows := make([]*storepb.ListenerStatistics, n)
		for i, id := range ids[:n] {
			rows[i] = taken[id]
		}
		f.writes.Add(1)
		res, err := f.store.Propose(ctx, &storepb.Command{Op: &storepb.Command_RecordAmphoraStats{
			RecordAmphoraStats: &storepb.RecordAmphoraStats{Stats: rows}}})
		if err == nil && res.Code != storepb.CommandResult_OK {
			err = fmt.Errorf("statistics refused: %s: %s", res.Code, res.Message)
		}
		if err != nil {
			f.putBack(ids, taken)
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (f *StatsFlusher) putBack(ids []string, taken map[string]*storepb.ListenerStatistics) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if _, newer := f.dirty[id]; !newer {
			f.dirty[id] = taken[id]
		}
	}
}
