package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/store"
	"keel/store/storepb"
)

// fsmStore is the Store grain tests run over (rqlite's MockStore is the model):
// proposals are applied to a real store.FSM, so compare-and-set, quotas,
// deadlines and the request table (replays, Resolve) are the FSM's own; a test
// scripts the outcome of a request's next proposals where it wants a fault (a
// lost race, a refusal, an unknown outcome). Barrier succeeds unless failBarrier
// made it fail; LeaderReady is a switch.
type fsmStore struct {
	fsm *store.FSM

	mu         sync.Mutex // serialises applying (Raft has one apply goroutine) and guards the fields below
	index      uint64     // the Raft index of the last entry applied
	scripts    map[string][]proposalOutcome
	proposed   []*storepb.Command // every command proposed, as proposed
	resolved   []string           // the request ids resolved
	applied    map[string]int     // by request id, how often the FSM applied it (replays excluded)
	barrierErr error
	barriers   int
	broken     []string // what went wrong inside a scripted outcome

	leaderReady  atomic.Bool
	leaderChecks atomic.Int64
}

var _ actors.Store = (*fsmStore)(nil)

// proposalOutcome decides what one proposal of cmd does and what its proposer hears.
type proposalOutcome func(s *fsmStore, cmd *storepb.Command) (*storepb.CommandResult, error)

// newFSMStore returns an fsmStore over an empty FSM; the test fails if a scripted
// outcome could not do what it was scripted to.
func newFSMStore(t *testing.T) *fsmStore {
	s := &fsmStore{fsm: store.NewFSM(), scripts: map[string][]proposalOutcome{}, applied: map[string]int{}}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range s.broken {
			t.Errorf("fsmStore: %s", b)
		}
	})
	return s
}

// apply runs cmds through the FSM as one Raft entry stamped with the leader's clock.
func (s *fsmStore) apply(cmds ...*storepb.Command) ([]*storepb.CommandResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := proto.Marshal(&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: time.Now().UnixMilli()})
	if err != nil {
		return nil, err
	}
	s.index++
	out := s.fsm.Apply(&raft.Log{Index: s.index, Type: raft.LogCommand, Data: data})
	res, ok := out.([]*storepb.CommandResult)
	if !ok || len(res) != len(cmds) {
		return nil, fmt.Errorf("fsm answered %v", out)
	}
	for i, r := range res {
		if id := cmds[i].RequestId; id != "" && r.Code == storepb.CommandResult_OK && !r.Replayed {
			s.applied[id]++
		}
	}
	return res, nil
}

func (s *fsmStore) applyOne(cmd *storepb.Command) (*storepb.CommandResult, error) {
	res, err := s.apply(cmd)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// write applies cmd as the test's own writer and returns the version it wrote;
// anything but OK fails the test.
func (s *fsmStore) write(t *testing.T, cmd *storepb.Command) uint64 {
	t.Helper()
	res, err := s.applyOne(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != storepb.CommandResult_OK {
		t.Fatalf("seeding %v: %v", cmd.Op, res)
	}
	return res.Version
}

// script makes the next proposals of request reqID end as outcomes say, one each,
// in order; proposals after them apply normally.
func (s *fsmStore) script(reqID string, outcomes ...proposalOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[reqID] = append(s.scripts[reqID], outcomes...)
}

// failBarrier makes every Barrier fail with err (nil: succeed again).
func (s *fsmStore) failBarrier(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.barrierErr = err
}

// proposals returns the commands of request reqID proposed so far.
func (s *fsmStore) proposals(reqID string) []*storepb.Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storepb.Command
	for _, c := range s.proposed {
		if c.RequestId == reqID {
			out = append(out, c)
		}
	}
	return out
}

// treeWrites returns the write sets of the tree transactions with intent proposed
// so far, as proposed.
func (s *fsmStore) treeWrites(intent storepb.TreeTransaction_Intent) []*storepb.TreeWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storepb.TreeWrite
	for _, c := range s.proposed {
		if tx := c.GetTreeTransaction(); tx != nil && tx.Intent == intent {
			out = append(out, tx.Write)
		}
	}
	return out
}

// timesApplied counts how often the FSM applied a command of request reqID
// (a replay is not applying).
func (s *fsmStore) timesApplied(reqID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[reqID]
}

// resolutions counts the Resolve calls for request reqID.
func (s *fsmStore) resolutions(reqID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range s.resolved {
		if id == reqID {
			n++
		}
	}
	return n
}

func (s *fsmStore) barrierCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.barriers
}

// Barrier implements actors.Store: the FSM is always current, unless the test
// made reads fail.
func (s *fsmStore) Barrier(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.barriers++
	return s.barrierErr
}

// State implements actors.Store.
func (s *fsmStore) State() *store.StateStore { return s.fsm.State() }

// Propose implements actors.Store: the request's next scripted outcome, or the
// FSM's answer. Like store.Node, it gives a command without a deadline one.
func (s *fsmStore) Propose(ctx context.Context, cmd *storepb.Command) (*storepb.CommandResult, error) {
	if cmd.DeadlineUnixMs == 0 {
		cmd.DeadlineUnixMs = time.Now().Add(30 * time.Second).UnixMilli()
	}
	s.mu.Lock()
	s.proposed = append(s.proposed, proto.Clone(cmd).(*storepb.Command))
	var outcome proposalOutcome
	if q := s.scripts[cmd.RequestId]; cmd.RequestId != "" && len(q) > 0 {
		outcome, s.scripts[cmd.RequestId] = q[0], q[1:]
	}
	s.mu.Unlock()
	if outcome != nil {
		return outcome(s, cmd)
	}
	return s.applyOne(cmd)
}

// ProposeWithin implements actors.Store: Propose under a context with timeout d.
func (s *fsmStore) ProposeWithin(d time.Duration, cmd *storepb.Command) (*storepb.CommandResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Propose(ctx, cmd)
}

// Resolve implements actors.Store as store.Node does: a ResolveRequest command.
func (s *fsmStore) Resolve(ctx context.Context, reqID string, deadlineUnixMs int64) (*storepb.CommandResult, error) {
	if reqID == "" {
		return nil, errors.New("resolve needs a request id")
	}
	s.mu.Lock()
	s.resolved = append(s.resolved, reqID)
	s.mu.Unlock()
	return s.applyOne(&storepb.Command{RequestId: reqID, DeadlineUnixMs: deadlineUnixMs,
		Op: &storepb.Command_ResolveRequest{ResolveRequest: &storepb.ResolveRequest{}}})
}

// LeaderReady implements actors.Store; it counts the calls, so a test can tell
// the reconciler has looked.
func (s *fsmStore) LeaderReady() bool {
	s.leaderChecks.Add(1)
	return s.leaderReady.Load()
}

// The scripted outcomes.

// refusedWith: the FSM refuses the command with code and message; nothing is written.
func refusedWith(code storepb.CommandResult_Code, message string) proposalOutcome {
	return func(s *fsmStore, cmd *storepb.Command) (*storepb.CommandResult, error) {
		return &storepb.CommandResult{Code: code, Message: message}, nil
	}
}

// appliedButUnknown: the command commits, but its proposer hears ErrAmbiguous
// (leadership lost before the answer).
func appliedButUnknown() proposalOutcome {
	return func(s *fsmStore, cmd *storepb.Command) (*storepb.CommandResult, error) {
		if _, err := s.applyOne(cmd); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: leadership lost while committing", store.ErrAmbiguous)
	}
}

// lostButUnknown: the command never reaches the log, and its proposer hears
// ErrAmbiguous.
func lostButUnknown() proposalOutcome {
	return func(s *fsmStore, cmd *storepb.Command) (*storepb.CommandResult, error) {
		return nil, fmt.Errorf("%w: leadership lost while committing", store.ErrAmbiguous)
	}
}

// afterOtherWriter: another writer's command, built from the state the proposal
// meets (and the proposal itself), commits first; then the proposal is applied
// and the FSM decides it against what the other writer left.
func afterOtherWriter(other func(st *store.State, cmd *storepb.Command) *storepb.Command) proposalOutcome {
	return func(s *fsmStore, cmd *storepb.Command) (*storepb.CommandResult, error) {
		o := other(s.State().Current(), proto.Clone(cmd).(*storepb.Command))
		if res, err := s.applyOne(o); err != nil || res.Code != storepb.CommandResult_OK {
			s.mu.Lock()
			s.broken = append(s.broken, fmt.Sprintf("the other writer's %T was refused: %v %v", o.Op, res, err))
			s.mu.Unlock()
		}
		return s.applyOne(cmd)
	}
}
