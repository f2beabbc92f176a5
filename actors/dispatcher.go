package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// workerDispatcher runs grain mailboxes on reused goroutines. protoactor's default
// dispatcher starts a goroutine each time a mailbox has work; a grain's call path
// (decode, decide, propose, reply) is deep, so every such goroutine grew its stack
// and copied it: 8% of all CPU in the 3-node create profile was runtime.newstack
// under grain Receive. Here a goroutine that finishes a mailbox run waits a while
// for the next one, keeping its grown stack.
//
// It never queues: when no worker is idle, Schedule starts one, exactly as the
// default dispatcher would. So a grain blocked in a call (on Raft, or on another
// grain) never holds up another grain's mailbox, and nothing can deadlock on a
// bounded pool.
type workerDispatcher struct {
	work       chan func() // unbuffered: a send succeeds only into an idle worker
	idle       time.Duration
	throughput int
}

// grainDispatcher is shared by every grain kind of the process.
var grainDispatcher = newWorkerDispatcher(time.Second, 300)

func newWorkerDispatcher(idle time.Duration, throughput int) *workerDispatcher {
	return &workerDispatcher{work: make(chan func()), idle: idle, throughput: throughput}
}

// Schedule runs fn on an idle worker, or on a new one.
func (d *workerDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		go d.worker(fn)
	}
}

// Throughput is how many messages a mailbox run handles before yielding
// (protoactor's default dispatcher's 300).
func (d *workerDispatcher) Throughput() int { return d.throughput }

func (d *workerDispatcher) worker(fn func()) {
	timer := time.NewTimer(d.idle)
	defer timer.Stop()
	for {
		fn()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(d.idle)
		select {
		case fn = <-d.work:
		case <-timer.C:
			return
		}
	}
}

// onGrainDispatcher runs a kind's grains on grainDispatcher.
func onGrainDispatcher() actor.PropsOption { return actor.WithDispatcher(grainDispatcher) }
