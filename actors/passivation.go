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

// idleStates holds every live grain's passivation bookkeeping, keyed by its
// PID (the pointer the grain's context keeps for its life).
var idleStates sync.Map // *actor.PID → *idleState

// idleState is one grain's passivation bookkeeping. Its fields are touched only on
// the grain's mailbox goroutine (by the middleware, and by the grain through
// settled); the timer goroutine only sends the grain a message.
type idleState struct {
	last  time.Time
	timer *time.Timer
	// settledIdle is the kind's idle time for a settled grain; settled: the
	// grain said so and no message came since.
	settledIdle time.Duration
	settled     bool
}

// settled tells the passivation middleware, from the grain's own message
// handling, that the grain has nothing in flight (no provider step, timer or
// amphora work): it stops after its kind's settled idle time instead of the
// full one, unless another message arrives first. A kind without passivation
// ignores it.
func settled(ctx actor.Context) {
	if v, ok := idleStates.Load(ctx.Self()); ok {
		st := v.(*idleState)
		st.settled, st.last = true, time.Now()
		st.arm(ctx.ActorSystem(), ctx.Self(), st.settledIdle)
	}
}

// passivateWhenIdle stops a grain after idle without messages: what protoactor's
// receive timeout does (the generated kinds' timeout argument), without its data
// race. protoactor arms the receive timeout with time.AfterFunc and mutates the actor
// context from the timer goroutine while the mailbox goroutine reads it (upstream
// asynkron/protoactor-go#1139, docs/races.md R4). Here the timer only sends the
// grain an idleCheck; the check, and the poison, run on the mailbox goroutine.
// An idle of 0 or less never passivates, as with protoactor's timeout.
//
// A grain that said it is settled stops after settledIdle without messages
// instead (when that is shorter and above 0): after a burst of creates, every
// load balancer grain would otherwise stay for the whole idle time once its
// provider step is done, and the burst's grains, live together, cost more
// memory than the rows they wrote (docs/benchmarks.md).
func passivateWhenIdle(idle, settledIdle time.Duration) actor.PropsOption {
	if idle <= 0 {
		return func(*actor.Props) {}
	}
	if settledIdle <= 0 || settledIdle > idle {
		settledIdle = idle
	}
	return actor.WithReceiverMiddleware(func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			self := c.Self()
			switch env.Message.(type) {
			case *actor.Started:
				// Not ClusterInit: the cluster's own middleware, inside this one,
				// makes that from Started and hands it straight to the grain.
				st := &idleState{last: time.Now(), settledIdle: settledIdle}
				idleStates.Store(self, st)
				st.arm(c.ActorSystem(), self, idle)
			case *idleCheck:
				v, ok := idleStates.Load(self)
				if !ok {
					return
				}
				st := v.(*idleState)
				limit := idle
				if st.settled {
					limit = settledIdle
				}
				if rest := limit - time.Since(st.last); rest > 0 {
					st.arm(c.ActorSystem(), self, rest)
					return
				}
				c.ActorSystem().Root.Poison(self)
				return
			case *actor.Stopped:
				if v, ok := idleStates.LoadAndDelete(self); ok {
					v.(*idleState).timer.Stop()
				}
			default:
				if v, ok := idleStates.Load(self); ok {
					st := v.(*idleState)
					st.last, st.settled = time.Now(), false
				}
			}
			next(c, env)
		}
	})
}

// arm schedules the next idle check in d.
// A check already scheduled is dropped: one timer per grain, which Reset
// reschedules (a grain's system and PID do not change).
func (st *idleState) arm(system *actor.ActorSystem, self *actor.PID, d time.Duration) {
	if st.timer != nil {
		st.timer.Reset(d)
		return
	}
	st.timer = time.AfterFunc(d, func() { system.Root.Send(self, &idleCheck{}) })
}
