package actors

import (
	"sync"
	"testing"
	"time"
)

// TestWorkerDispatcherNeverQueues checks that work scheduled while every worker
// is busy runs at once on a new worker (a blocked grain must not hold up another),
// and that an idle worker is reused.
func TestWorkerDispatcherNeverQueues(t *testing.T) {
	d := newWorkerDispatcher(time.Minute, 300)
	release := make(chan struct{})
	var started sync.WaitGroup
	const blocked = 50
	started.Add(blocked)
	for i := 0; i < blocked; i++ {
		d.Schedule(func() { started.Done(); <-release })
	}
	done := make(chan struct{})
	go func() { started.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("work scheduled while others block did not start")
	}
	close(release)
	// Every worker is idle now (or about to be): scheduled work must still run.
	ran := make(chan struct{})
	d.Schedule(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("work scheduled on idle workers did not run")
	}
}
