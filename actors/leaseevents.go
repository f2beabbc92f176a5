package actors

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"keel/actors/reservation"
	"keel/cluster/metrics"
	"keel/store/storepb"
)

// EventScheduler fires lease events (start_lease, before_end_lease,
// end_lease) when they are due. It runs on every node and acts only on the
// Raft leader (Store.LeaderReady, as the Reconciler): the events are durable
// in the store, the leader's tables are the freshest, and one scheduler per
// cluster means one caller per event in the normal case. It sleeps until the
// next event's time (State.NextEventTime), never longer than Tick, then asks
// each due event's lease grain to run it (FireEvent).
//
// Exactly once does not come from here: the grain re-reads the event and
// commits its step with a compare-and-set, so a repeated request (a retry, a
// new leader asking again for what the old one had already asked) does
// nothing. A new leader simply finds the events still UNDONE and asks.
//
// Order: the due events come in Blazar's order (State.EventsDueBy: by time;
// at equal times end_lease, start_lease, before_end_lease). They are fired in
// phases: the events of a phase run concurrently (at most Concurrency at a
// time), and a phase ends before an event of a lease already in it, or before
// a start_lease or before_end_lease that follows an end_lease. So one lease's
// events run in order, and a host handed over between back-to-back leases is
// released (end_lease and its hook) before the next lease starts.
//
// Lateness (the moment FireEvent answered minus the event's time) is recorded
// in a process-wide histogram, EventLateness.
type EventScheduler struct {
	Store  Store
	Client *Client
	// Fire runs one event; nil is Client.FireLeaseEvent (tests replace it).
	Fire   func(ctx context.Context, leaseID, eventID string) (*storepb.Lease, error)
	Logger *slog.Logger
	// Tick caps the sleep between looks at the store (default 100 ms), and
	// so bounds how late a newly created lease's due event is noticed.
	Tick time.Duration
	// Concurrency bounds the grain calls in flight (default 16).
	Concurrency int
	// CallTimeout bounds one FireEvent call, retries included (default 5 s).
	CallTimeout time.Duration

	stop chan struct{}
	wg   sync.WaitGroup
}

// Start begins the loop.
func (s *EventScheduler) Start() {
	if s.Tick <= 0 {
		s.Tick = 100 * time.Millisecond
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 16
	}
	if s.CallTimeout <= 0 {
		s.CallTimeout = 5 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Fire == nil {
		s.Fire = s.Client.FireLeaseEvent
	}
	s.stop = make(chan struct{})
	s.wg.Add(1)
	go s.loop()
}

// Stop ends the loop and waits for the calls in flight.
func (s *EventScheduler) Stop() {
	close(s.stop)
	s.wg.Wait()
}

func (s *EventScheduler) loop() {
	defer s.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-timer.C:
		}
		wait := s.Tick
		if s.Store.LeaderReady() {
			now := time.Now().UnixMilli()
			// Only the next event's time: tables are published (cloned) only
			// when an event is due.
			if next, ok := s.Store.State().NextEventTime(); ok {
				if next <= now {
					if s.fire(s.Store.State().Current().EventsDueBy(now)) {
						wait = 0 // look again at once: firing took time
					}
					timer.Reset(wait)
					continue
				}
				wait = min(wait, time.Duration(next-now)*time.Millisecond)
			}
		}
		timer.Reset(wait)
	}
}

// fire runs due (in firing order) phase by phase; it reports whether any
// event ran (else the next look waits a Tick: a failing grain is not asked in
// a busy loop).
func (s *EventScheduler) fire(due []*storepb.LeaseEvent) bool {
	var progress atomic.Bool
	for _, phase := range phases(due) {
		select {
		case <-s.stop:
			return progress.Load()
		default:
		}
		sem := make(chan struct{}, s.Concurrency)
		var wg sync.WaitGroup
		for _, ev := range phase {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if s.fireOne(ev) {
					progress.Store(true)
				}
			}()
		}
		wg.Wait()
	}
	return progress.Load()
}

func (s *EventScheduler) fireOne(ev *storepb.LeaseEvent) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.CallTimeout)
	defer cancel()
	l, err := s.Fire(ctx, ev.LeaseId, ev.Id)
	if err != nil {
		s.Logger.Warn("lease event not fired; retrying", "lease", ev.LeaseId, "event", ev.EventType, "err", err)
		return false
	}
	if l == nil {
		return true // the lease was deleted meanwhile
	}
	for _, e := range l.Events {
		if e.Id == ev.Id && e.Status != reservation.EventUndone {
			late := time.Since(time.UnixMilli(ev.TimeMs))
			eventLateness.record(late)
			metrics.ObserveLeaseEventLateness(late)
			return true
		}
	}
	return false
}

// phases splits due events into the phases fire runs one after the other.
func phases(due []*storepb.LeaseEvent) [][]*storepb.LeaseEvent {
	var out [][]*storepb.LeaseEvent
	var cur []*storepb.LeaseEvent
	leases := map[string]bool{}
	ending := false
	for _, ev := range due {
		startsAfterEnd := ending && ev.EventType != reservation.EventEndLease
		if leases[ev.LeaseId] || startsAfterEnd {
			out = append(out, cur)
			cur, leases, ending = nil, map[string]bool{}, false
		}
		cur = append(cur, ev)
		leases[ev.LeaseId] = true
		ending = ending || ev.EventType == reservation.EventEndLease
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// latenessBounds are the histogram's bucket upper bounds.
var latenessBounds = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2 * time.Second, 5 * time.Second, 10 * time.Second, time.Minute,
}

type latencyHistogram struct {
	mu     sync.Mutex
	counts []uint64 // len(latenessBounds)+1: the last counts what is beyond every bound
	count  uint64
	max    time.Duration
	sum    time.Duration
}

var eventLateness = &latencyHistogram{counts: make([]uint64, len(latenessBounds)+1)}

func (h *latencyHistogram) record(d time.Duration) {
	d = max(d, 0)
	i := sort.Search(len(latenessBounds), func(i int) bool { return d <= latenessBounds[i] })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[i]++
	h.count++
	h.sum += d
	h.max = max(h.max, d)
}

// LatenessBucket counts the events fired no later than UpTo after their time
// (and later than the previous bucket's UpTo); the last bucket's UpTo is 0:
// beyond every bound.
type LatenessBucket struct {
	UpTo  time.Duration
	Count uint64
}

// LatenessSnapshot is the event lateness histogram at one moment.
type LatenessSnapshot struct {
	Count   uint64
	Max     time.Duration
	Mean    time.Duration
	Buckets []LatenessBucket
}

// Quantile estimates the q-quantile (0 < q ≤ 1) as the upper bound of the
// bucket that holds it (Max for the last bucket, or when Max is smaller).
func (s LatenessSnapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	rank := uint64(q*float64(s.Count) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for _, b := range s.Buckets {
		seen += b.Count
		if seen >= rank {
			if b.UpTo == 0 || b.UpTo > s.Max {
				return s.Max
			}
			return b.UpTo
		}
	}
	return s.Max
}

// EventLateness returns how late this process's event scheduler fired lease
// events since the process started (or ResetEventLateness): fire time minus
// event time, per event the scheduler saw run. Benchmarks read it.
func EventLateness() LatenessSnapshot {
	h := eventLateness
	h.mu.Lock()
	defer h.mu.Unlock()
	s := LatenessSnapshot{Count: h.count, Max: h.max}
	if h.count > 0 {
		s.Mean = h.sum / time.Duration(h.count)
	}
	for i, c := range h.counts {
		var up time.Duration
		if i < len(latenessBounds) {
			up = latenessBounds[i]
		}
		s.Buckets = append(s.Buckets, LatenessBucket{UpTo: up, Count: c})
	}
	return s
}

// ResetEventLateness empties the histogram (a benchmark's fresh start).
func ResetEventLateness() {
	h := eventLateness
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.counts)
	h.count, h.max, h.sum = 0, 0, 0
}
