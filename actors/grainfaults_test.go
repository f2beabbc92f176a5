package actors_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/store"
	"keel/store/storepb"
)

// What a grain answers when its store misbehaves, pinned for every operation
// the same way (docs/ARCHITECTURE.md, "what an answer means under faults"): a
// success was applied exactly once, a refusal was not applied and never will be,
// an unknown outcome is a 503.

// operation is one grain operation as the fault scenarios drive it. Its request
// names the object it writes "new-<id>".
type operation struct {
	name string
	// arrange stores what the operation needs (a load balancer to change, a
	// flavor profile to refer to, ...); nil: nothing.
	arrange func(t *testing.T, s *fsmStore, id string)
	// call sends the request about id and returns the name of the object the
	// reply shows ("" when it shows none).
	call func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error)
	// rename renames the object a command of the operation writes (a delete:
	// nothing).
	rename func(cmd *storepb.Command, name string)
	// replies: a success shows the object written.
	replies bool
	// readsFirst: the grain reads (Barrier) before it proposes; a load
	// balancer's create does not.
	readsFirst bool
	// quota: the FSM may refuse the operation as over quota.
	quota bool
}

// faultRun is one call of an operation in a scenario or decision case: a fresh
// entity id, and the request's caller (its request id is the subtest's name).
type faultRun struct {
	store  *fsmStore
	client *actors.Client
	op     operation
	id     string
	caller *actorspb.Caller
	// readsBefore is how many reads the store had served before the call.
	readsBefore int
}

func (r *faultRun) call(ctx context.Context, c *actorspb.Caller) (string, error) {
	return r.op.call(ctx, r.client, r.id, c)
}

// faultScenario is one way the store misbehaves, and the answer it must produce.
type faultScenario struct {
	name string
	// skip: the scenario cannot happen to op.
	skip func(op operation) bool
	// arrange scripts the store and adjusts the caller before the call.
	arrange func(t *testing.T, r *faultRun)
	// callTimeout bounds the call (default 10 s).
	callTimeout time.Duration
	// want is the refusal's kind ("" for a success) and message a part of its text.
	want    actors.ErrorKind
	message string
	// replyPrefix: a success replies with the object named replyPrefix+id.
	replyPrefix string
	// check runs after the call.
	check func(t *testing.T, r *faultRun)
}

const (
	newName     = "new-"     // what the request names the object
	earlierName = "earlier-" // what an earlier attempt of the request wrote
)

var errNoLeader = errors.New("no leader reachable")

const scriptedQuotaRefusal = "Quota has been met for resources: Health Monitor, Member"

var faultScenarios = []faultScenario{
	{
		name: "outcome unknown, applied",
		arrange: func(t *testing.T, r *faultRun) {
			r.store.script(r.caller.RequestId, appliedButUnknown())
		},
		replyPrefix: newName,
		check: func(t *testing.T, r *faultRun) {
			if n := r.store.resolutions(r.caller.RequestId); n != 1 {
				t.Errorf("resolved %d times, want once before answering", n)
			}
		},
	},
	{
		name: "outcome unknown, not applied",
		arrange: func(t *testing.T, r *faultRun) {
			r.store.script(r.caller.RequestId, lostButUnknown())
		},
		want: actors.KindNotApplied, message: "was not applied",
		check: func(t *testing.T, r *faultRun) {
			// The refusal is definite: the lost command, delivered late, is refused.
			cmds := r.store.proposals(r.caller.RequestId)
			if len(cmds) != 1 {
				t.Fatalf("%d proposals, want 1", len(cmds))
			}
			res, err := r.store.applyOne(cmds[0])
			if err != nil || res.Code != storepb.CommandResult_ABORTED {
				t.Errorf("the lost command delivered after the answer: %v %v, want ABORTED", res, err)
			}
		},
	},
	{
		name: "deadline passed",
		arrange: func(t *testing.T, r *faultRun) {
			r.caller.DeadlineUnixMs = time.Now().Add(-time.Second).UnixMilli()
		},
		want: actors.KindNotApplied, message: "after its deadline",
	},
	{
		name: "resolved as not applied before it arrived",
		arrange: func(t *testing.T, r *faultRun) {
			res, err := r.store.Resolve(context.Background(), r.caller.RequestId, r.caller.DeadlineUnixMs)
			if err != nil || res.Code != storepb.CommandResult_ABORTED {
				t.Fatalf("resolve: %v %v", res, err)
			}
		},
		want: actors.KindNotApplied, message: "was not applied",
	},
	{
		name: "an earlier attempt applied it first",
		arrange: func(t *testing.T, r *faultRun) {
			// The earlier attempt wrote a different name, so the answer shows
			// whether the grain read what is stored.
			r.store.script(r.caller.RequestId, afterOtherWriter(func(_ *store.State, cmd *storepb.Command) *storepb.Command {
				r.op.rename(cmd, earlierName+r.id)
				return cmd
			}))
		},
		replyPrefix: earlierName,
	},
	{
		name: "retried after an earlier attempt applied it",
		arrange: func(t *testing.T, r *faultRun) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := r.call(ctx, r.caller); err != nil {
				t.Fatalf("first attempt: %v", err)
			}
			retry := proto.Clone(r.caller).(*actorspb.Caller)
			retry.Attempt = 1
			r.caller = retry
		},
		replyPrefix: newName,
	},
	{
		name: "reads fail",
		skip: func(op operation) bool { return !op.readsFirst },
		arrange: func(t *testing.T, r *faultRun) {
			r.store.failBarrier(errNoLeader)
			t.Cleanup(func() { r.store.failBarrier(nil) })
		},
		// The client retries an unavailable grain until the call's deadline.
		callTimeout: 500 * time.Millisecond,
		want:        actors.KindUnavailable,
		check: func(t *testing.T, r *faultRun) {
			if n := r.store.barrierCalls() - r.readsBefore; n < 2 {
				t.Errorf("%d reads, want the client to retry an unavailable grain", n)
			}
			if n := len(r.store.proposals(r.caller.RequestId)); n != 0 {
				t.Errorf("%d proposals without a read", n)
			}
		},
	},
	{
		name: "over quota",
		skip: func(op operation) bool { return !op.quota },
		arrange: func(t *testing.T, r *faultRun) {
			r.store.script(r.caller.RequestId, refusedWith(storepb.CommandResult_QUOTA_EXCEEDED, scriptedQuotaRefusal))
		},
		// The store's text is the answer.
		want: actors.KindForbidden, message: scriptedQuotaRefusal,
	},
}

// runFaultScenarios runs every scenario against every operation, each on an
// entity of its own.
func runFaultScenarios(t *testing.T, s *fsmStore, c *actors.Client, ops []operation) {
	for _, op := range ops {
		for _, sc := range faultScenarios {
			if sc.skip != nil && sc.skip(op) {
				continue
			}
			t.Run(op.name+"/"+sc.name, func(t *testing.T) {
				r := &faultRun{store: s, client: c, op: op, id: uuid.NewString(), caller: caller(t.Name(), 0)}
				if op.arrange != nil {
					op.arrange(t, s, r.id)
				}
				sc.arrange(t, r)
				r.readsBefore = s.barrierCalls()
				timeout := sc.callTimeout
				if timeout == 0 {
					timeout = 10 * time.Second
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				name, err := r.call(ctx, r.caller)

				reqID := r.caller.RequestId
				if sc.want == "" {
					if err != nil {
						t.Fatalf("%v, want a success", err)
					}
					if want := sc.replyPrefix + r.id; op.replies && name != want {
						t.Errorf("reply shows %q, want %q (the object as stored)", name, want)
					}
					if n := s.timesApplied(reqID); n != 1 {
						t.Errorf("applied %d times, want once", n)
					}
				} else {
					wantRefusal(t, err, sc.want, sc.message)
					if n := s.timesApplied(reqID); n != 0 {
						t.Errorf("refused, but applied %d times", n)
					}
				}
				if sc.check != nil {
					sc.check(t, r)
				}
			})
		}
	}
}

// wantRefusal fails the test unless err is a grain's refusal of kind whose
// message contains message.
func wantRefusal(t *testing.T, err error, kind actors.ErrorKind, message string) {
	t.Helper()
	var e *actors.Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Fatalf("answer %v, want a refusal of kind %s", err, kind)
	}
	if !strings.Contains(e.Message, message) {
		t.Errorf("refusal %q, want it to say %q", e.Message, message)
	}
}

// decisionCase is one operation meeting a particular state or race, and the
// decision the grain must reach.
type decisionCase struct {
	name string
	op   operation
	// others are other writers' commands about the entity: one commits just
	// before each of the grain's proposals, so the grain loses that race.
	others []func(st *store.State, id string) *storepb.Command
	// arrange prepares anything else; nil: nothing.
	arrange func(t *testing.T, r *faultRun)
	// want is the refusal's kind ("" for a success) and message a part of its text.
	want    actors.ErrorKind
	message string
	// check runs after the call; nil: nothing.
	check func(t *testing.T, r *faultRun)
}

// runDecisionCases runs each case on an entity of its own.
func runDecisionCases(t *testing.T, s *fsmStore, c *actors.Client, cases []decisionCase) {
	for _, dc := range cases {
		t.Run(dc.op.name+"/"+dc.name, func(t *testing.T) {
			r := &faultRun{store: s, client: c, op: dc.op, id: uuid.NewString(), caller: caller(t.Name(), 0)}
			if dc.op.arrange != nil {
				dc.op.arrange(t, s, r.id)
			}
			for _, other := range dc.others {
				r.store.script(r.caller.RequestId, afterOtherWriter(func(st *store.State, _ *storepb.Command) *storepb.Command {
					return other(st, r.id)
				}))
			}
			if dc.arrange != nil {
				dc.arrange(t, r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			name, err := r.call(ctx, r.caller)
			reqID := r.caller.RequestId
			if dc.want == "" {
				if err != nil {
					t.Fatalf("%v, want a success", err)
				}
				if want := newName + r.id; dc.op.replies && name != want {
					t.Errorf("reply shows %q, want %q", name, want)
				}
				if n := s.timesApplied(reqID); n != 1 {
					t.Errorf("applied %d times, want once", n)
				}
			} else {
				wantRefusal(t, err, dc.want, dc.message)
				if n := s.timesApplied(reqID); n != 0 {
					t.Errorf("refused, but applied %d times", n)
				}
			}
			if dc.check != nil {
				dc.check(t, r)
			}
		})
	}
}
