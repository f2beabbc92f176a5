package actors_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"keel/actors"
	"keel/store"
	"keel/store/storepb"
)

// failingStore fails every proposal while fail is set.
type failingStore struct {
	*fsmStore
	fail atomic.Bool
}

func (s *failingStore) Propose(ctx context.Context, cmd *storepb.Command) (*storepb.CommandResult, error) {
	if s.fail.Load() {
		return nil, errors.New("no leader")
	}
	return s.fsmStore.Propose(ctx, cmd)
}

func (s *failingStore) ProposeWithin(d time.Duration, cmd *storepb.Command) (*storepb.CommandResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Propose(ctx, cmd)
}

// TestStatsFlusher covers the node's writer of statistics: nothing is proposed
// while nothing was offered, the latest totals of each row are written in
// commands of at most MaxRows rows, and a failed flush is retried with the
// next one, newer totals winning.
func TestStatsFlusher(t *testing.T) {
	fs := &failingStore{fsmStore: newFSMStore(t)}
	w := &storepb.TreeWrite{LoadBalancerId: "lb", LoadBalancer: &storepb.LoadBalancer{Id: "lb", ProjectId: "p"},
		Amphorae: []*storepb.Amphora{{Id: "amp", LoadbalancerId: "lb", ProjectId: "p"}}}
	for _, l := range []string{"l1", "l2", "l3"} {
		w.Listeners = append(w.Listeners, &storepb.Listener{Id: l, LoadbalancerId: "lb", ProjectId: "p"})
	}
	fs.write(t, &storepb.Command{RequestId: "create", Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: w}}})
	f := actors.NewStatsFlusher(fs, time.Hour, nil)
	f.MaxRows = 2
	ctx := context.Background()
	row := func(l string, in uint64) *storepb.ListenerStatistics {
		return &storepb.ListenerStatistics{AmphoraId: "amp", ListenerId: l, BytesIn: in}
	}
	stored := func(l string) uint64 {
		r, _ := fs.State().Current().ListenerStatistics.Get(store.ListenerStatisticsID("amp", l))
		return r.GetBytesIn()
	}

	if err := f.Flush(ctx); err != nil || f.Writes() != 0 {
		t.Fatalf("an empty flush: %v, %d writes", err, f.Writes())
	}
	f.Offer(row("l1", 1), row("l2", 2), row("l3", 3), row("l1", 10))
	if err := f.Flush(ctx); err != nil || f.Writes() != 2 {
		t.Fatalf("flush: %v, %d writes (3 rows, 2 per command)", err, f.Writes())
	}
	if stored("l1") != 10 || stored("l2") != 2 || stored("l3") != 3 {
		t.Fatalf("stored %d %d %d", stored("l1"), stored("l2"), stored("l3"))
	}
	if err := f.Flush(ctx); err != nil || f.Writes() != 2 {
		t.Fatalf("nothing offered since: %v, %d writes", err, f.Writes())
	}

	fs.fail.Store(true)
	f.Offer(row("l1", 20), row("l2", 21))
	if err := f.Flush(ctx); err == nil {
		t.Fatal("a flush without a leader succeeded")
	}
	f.Offer(row("l2", 22))
	fs.fail.Store(false)
	f.Stop(time.Second) // never started: flushes what is left
	if stored("l1") != 20 || stored("l2") != 22 {
		t.Fatalf("after the retry: %d %d", stored("l1"), stored("l2"))
	}
}
