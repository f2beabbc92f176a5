package actors

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"keel/cluster/metrics"
)

// countLifecycle counts a kind's grains started and stopped on this node
// (keel_grain_activations_total, keel_grain_passivations_total).
func countLifecycle(kind *metrics.GrainKind) actor.PropsOption {
	return actor.WithReceiverMiddleware(func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			switch env.Message.(type) {
			case *actor.Started:
				kind.Activated()
			case *actor.Stopped:
				kind.Passivated()
			}
			next(c, env)
		}
	})
}

// idleCheck is the passivation timer's message to a grain: stop if idle long enough.
type idleCheck struct{}

// idleState is one grain's passivation bookkeeping. Its fields are touched only on
// the grain's mailbox goroutine; the timer goroutine only sends the grain a message.
type idleState struct {
	last  time.Time
	timer *time.Timer
}

// passivateWhenIdle stops a grain after idle without messages: what protoactor's
// receive timeout does (the generated kinds' timeout argument), without its data
// race. protoactor arms the receive timeout with time.AfterFunc and mutates the actor
// context from the timer goroutine while the mailbox goroutine reads it (upstream
// asynkron/protoactor-go#1139, docs/races.md R4). Here the timer only sends the
// grain an idleCheck; the check, and the poison, run on the mailbox goroutine.
// An idle of 0 or less never passivates, as with protoactor's timeout.
func passivateWhenIdle(idle time.Duration) actor.PropsOption {
	if idle <= 0 {
		return func(*actor.Props) {}
	}
	var grains sync.Map // PID id → *idleState, one per live grain of the kind
	return actor.WithReceiverMiddleware(func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			self := c.Self()
			switch env.Message.(type) {
			case *actor.Started:
				// Not ClusterInit: the cluster's own middleware, inside this one,
				// makes that from Started and hands it straight to the grain.
				st := &idleState{last: time.Now()}
				grains.Store(self.Id, st)
				st.arm(c.ActorSystem(), self, idle)
			case *idleCheck:
				v, ok := grains.Load(self.Id)
				if !ok {
					return
				}
				st := v.(*idleState)
				if rest := idle - time.Since(st.last); rest > 0 {
					st.arm(c.ActorSystem(), self, rest)
					return
				}
				c.ActorSystem().Root.Poison(self)
				return
			case *actor.Stopped:
				if v, ok := grains.LoadAndDelete(self.Id); ok {
					v.(*idleState).timer.Stop()
				}
			default:
				if v, ok := grains.Load(self.Id); ok {
					v.(*idleState).last = time.Now()
				}
			}
			next(c, env)
		}
	})
}

// arm schedules the next idle check in d.
func (st *idleState) arm(system *actor.ActorSystem, self *actor.PID, d time.Duration) {
	st.timer = time.AfterFunc(d, func() { system.Root.Send(self, &idleCheck{}) })
}
