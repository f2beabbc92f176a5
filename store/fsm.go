package store

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// FSM applies committed Raft entries to the StateStore. Each log entry carries a
// CommandBatch; all its commands are applied in order in one memdb write transaction,
// and each gets its own CommandResult. Every check the FSM makes is deterministic
// (compare-and-set on versions, existence), so every node reaches the same state.
type FSM struct {
	state *StateStore
	// write is the FSM's working copy of the tables; a clone is published after
	// every batch. Only the FSM goroutine touches write and lastVersion.
	write *State
	// lastVersion is the modification sequence handed to entities as their version.
	lastVersion uint64
}

// NewFSM returns an FSM over an empty state store.
func NewFSM() *FSM {
	f := &FSM{state: NewStateStore(), write: newState()}
	f.state.publish(f.write.clone())
	return f
}

// State returns the tables the FSM writes.
func (f *FSM) State() *StateStore { return f.state }

var _ raft.BatchingFSM = (*FSM)(nil)

// Apply applies one log entry.
func (f *FSM) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies consecutive committed entries in one transaction.
func (f *FSM) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	var last uint64
	st := f.write
	for i, l := range logs {
		last = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		var batch storepb.CommandBatch
		if err := proto.Unmarshal(l.Data, &batch); err != nil {
			out[i] = fmt.Errorf("store: undecodable log entry %d: %w", l.Index, err)
			continue
		}
		results := make([]*storepb.CommandResult, len(batch.Commands))
		for j, cmd := range batch.Commands {
			results[j] = f.applyCommand(st, cmd)
		}
		out[i] = results
	}
	f.state.publish(st.clone())
	if last > 0 {
		f.state.setApplied(last)
	}
	return out
}

// applyCommand is the one switch over command types.
func (f *FSM) applyCommand(st *State, cmd *storepb.Command) *storepb.CommandResult {
	switch op := cmd.Op.(type) {
	case *storepb.Command_CreateLoadBalancer:
		return f.applyCreateLoadBalancer(st, cmd.RequestId, op.CreateLoadBalancer)
	case *storepb.Command_UpdateLoadBalancer:
		return f.applyUpdateLoadBalancer(st, cmd.RequestId, op.UpdateLoadBalancer)
	case *storepb.Command_SetLoadBalancerStatus:
		return f.applySetLoadBalancerStatus(st, cmd.RequestId, op.SetLoadBalancerStatus)
	case *storepb.Command_DeleteLoadBalancer:
		return f.applyDeleteLoadBalancer(st, cmd.RequestId, op.DeleteLoadBalancer)
	case *storepb.Command_PurgeLoadBalancer:
		return f.applyPurgeLoadBalancer(st, cmd.RequestId, op.PurgeLoadBalancer)
	default:
		return invalid("unknown command %T", cmd.Op)
	}
}

func (f *FSM) nextVersion() uint64 {
	f.lastVersion++
	return f.lastVersion
}

func (f *FSM) applyCreateLoadBalancer(st *State, reqID string, c *storepb.CreateLoadBalancer) *storepb.CommandResult {
	lb := c.GetLoadBalancer()
	if lb == nil || lb.Id == "" {
		return invalid("create without a load balancer")
	}
	if cur := st.LoadBalancer(lb.Id); cur != nil {
		if reqID != "" && cur.LastRequestId == reqID {
			return ok(cur.Version) // the same request, retried after an ambiguous outcome
		}
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: "load balancer " + lb.Id + " exists", Version: cur.Version}
	}
	lb.Version = f.nextVersion()
	lb.LastRequestId = reqID
	st.LoadBalancers.Put(internLoadBalancer(lb))
	return ok(lb.Version)
}

// casLoadBalancer loads the load balancer a command targets and checks its version.
// A nil result means the command may proceed with cur; otherwise it is the answer.
func casLoadBalancer(st *State, id string, expected uint64, reqID string) (cur *storepb.LoadBalancer, res *storepb.CommandResult) {
	cur = st.LoadBalancer(id)
	if cur == nil {
		return nil, &storepb.CommandResult{Code: storepb.CommandResult_NOT_FOUND, Message: "load balancer " + id + " not found"}
	}
	if cur.Version != expected {
		if reqID != "" && cur.LastRequestId == reqID {
			return nil, ok(cur.Version)
		}
		return nil, &storepb.CommandResult{Code: storepb.CommandResult_CONFLICT,
			Message: fmt.Sprintf("load balancer %s is at version %d, not %d", id, cur.Version, expected), Version: cur.Version}
	}
	return cur, nil
}

func (f *FSM) applyUpdateLoadBalancer(st *State, reqID string, c *storepb.UpdateLoadBalancer) *storepb.CommandResult {
	lb := c.GetLoadBalancer()
	if lb == nil {
		return invalid("update without a load balancer")
	}
	cur, res := casLoadBalancer(st, lb.Id, c.ExpectedVersion, reqID)
	if res != nil {
		return res
	}
	lb.CreatedAt = cur.CreatedAt // immutable, whatever the proposer sent
	lb.ProjectId = cur.ProjectId
	lb.Version = f.nextVersion()
	lb.LastRequestId = reqID
	st.LoadBalancers.Put(internLoadBalancer(lb))
	return ok(lb.Version)
}

func (f *FSM) applySetLoadBalancerStatus(st *State, reqID string, c *storepb.SetLoadBalancerStatus) *storepb.CommandResult {
	cur, res := casLoadBalancer(st, c.Id, c.ExpectedVersion, reqID)
	if res != nil {
		return res
	}
	lb := proto.Clone(cur).(*storepb.LoadBalancer)
	if c.ProvisioningStatus != "" {
		lb.ProvisioningStatus = c.ProvisioningStatus
	}
	if c.OperatingStatus != "" {
		lb.OperatingStatus = c.OperatingStatus
	}
	if c.UpdatedAt != 0 {
		lb.UpdatedAt = c.UpdatedAt
	}
	lb.Version = f.nextVersion()
	lb.LastRequestId = reqID
	st.LoadBalancers.Put(internLoadBalancer(lb))
	return ok(lb.Version)
}

func (f *FSM) applyDeleteLoadBalancer(st *State, reqID string, c *storepb.DeleteLoadBalancer) *storepb.CommandResult {
	cur, res := casLoadBalancer(st, c.Id, c.ExpectedVersion, reqID)
	if res != nil {
		return res
	}
	lb := proto.Clone(cur).(*storepb.LoadBalancer)
	lb.ProvisioningStatus = "PENDING_DELETE"
	if c.UpdatedAt != 0 {
		lb.UpdatedAt = c.UpdatedAt
	}
	lb.Version = f.nextVersion()
	lb.LastRequestId = reqID
	st.LoadBalancers.Put(internLoadBalancer(lb))
	return ok(lb.Version)
}

func (f *FSM) applyPurgeLoadBalancer(st *State, reqID string, c *storepb.PurgeLoadBalancer) *storepb.CommandResult {
	cur := st.LoadBalancer(c.Id)
	if cur == nil {
		return ok(0) // already gone: purging is idempotent
	}
	if cur.Version != c.ExpectedVersion {
		return &storepb.CommandResult{Code: storepb.CommandResult_CONFLICT,
			Message: fmt.Sprintf("load balancer %s is at version %d, not %d", c.Id, cur.Version, c.ExpectedVersion), Version: cur.Version}
	}
	st.LoadBalancers.Delete(cur.Id)
	f.nextVersion()
	return ok(0)
}

func ok(version uint64) *storepb.CommandResult {
	return &storepb.CommandResult{Code: storepb.CommandResult_OK, Version: version}
}

func invalid(format string, args ...interface{}) *storepb.CommandResult {
	return &storepb.CommandResult{Code: storepb.CommandResult_INVALID, Message: fmt.Sprintf(format, args...)}
}

// Snapshot captures the tables at this point (memdb snapshots are O(1)).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{
		state:       f.state.Snapshot(),
		applied:     f.state.AppliedIndex(),
		lastVersion: f.lastVersion,
	}, nil
}

// Restore replaces the tables with a snapshot's content.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, hdr, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	f.write = st
	f.state.publish(st.clone())
	f.lastVersion = hdr.LastVersion
	f.state.setApplied(hdr.AppliedIndex)
	return nil
}
