package store

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// FSM applies committed Raft entries to the StateStore. Each log entry carries a
// CommandBatch; its commands are applied in order to the FSM's working copy of the
// tables, each with its own CommandResult, then a clone is published. Every check
// the FSM makes is deterministic (compare-and-set on versions, existence, quotas,
// uniqueness), so every node reaches the same state.
type FSM struct {
	state *StateStore
	// write is the FSM's working copy of the tables; a clone is published after
	// every batch. Only the FSM goroutine touches write and lastVersion.
	write *State
	// lastVersion is the modification sequence handed to entities as their version.
	lastVersion uint64
	// clock is the newest leader time (unix ms) of the entries applied: the FSM's
	// deterministic notion of now, against which request deadlines are checked.
	clock int64
	// requests remembers applied requests until their deadlines (requests.go).
	requests *requestTable
}

// defaultRequestLifetime is how long a request without a deadline of its own is
// remembered (and how long Propose gives a command it sends without one): longer
// than any of keel's retries of it can live.
const defaultRequestLifetime = 30 * time.Second

// NewFSM returns an FSM over an empty state store.
func NewFSM() *FSM {
	f := &FSM{state: NewStateStore(), write: newState(), requests: newRequestTable()}
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

// ApplyBatch applies consecutive committed entries, then publishes the tables once.
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
		if batch.LeaderTimeUnixMs > f.clock {
			f.clock = batch.LeaderTimeUnixMs
			f.requests.forgetBefore(f.clock)
		}
		results := make([]*storepb.CommandResult, len(batch.Commands))
		for j, cmd := range batch.Commands {
			results[j] = f.applyRequest(st, cmd)
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
		return f.applyTreeWrite(st, op.CreateLoadBalancer.GetWrite(), treeCreate)
	case *storepb.Command_UpdateLoadBalancer:
		return f.applyTreeWrite(st, op.UpdateLoadBalancer.GetWrite(), treeUpdate)
	case *storepb.Command_DeleteLoadBalancer:
		return f.applyTreeWrite(st, op.DeleteLoadBalancer.GetWrite(), treeUpdate)
	case *storepb.Command_PurgeLoadBalancer:
		return f.applyPurgeLoadBalancer(st, op.PurgeLoadBalancer)
	case *storepb.Command_CompleteProvisioning:
		return f.applyTreeWrite(st, op.CompleteProvisioning.GetWrite(), treeUpdate)
	case *storepb.Command_FailoverLoadBalancer:
		return f.applyTreeWrite(st, op.FailoverLoadBalancer.GetWrite(), treeUpdate)
	case *storepb.Command_CreateListener:
		return f.applyTreeWrite(st, op.CreateListener.GetWrite(), treeUpdate)
	case *storepb.Command_UpdateListener:
		return f.applyTreeWrite(st, op.UpdateListener.GetWrite(), treeUpdate)
	case *storepb.Command_DeleteListener:
		return f.applyTreeWrite(st, op.DeleteListener.GetWrite(), treeUpdate)
	case *storepb.Command_CreatePool:
		return f.applyTreeWrite(st, op.CreatePool.GetWrite(), treeUpdate)
	case *storepb.Command_UpdatePool:
		return f.applyTreeWrite(st, op.UpdatePool.GetWrite(), treeUpdate)
	case *storepb.Command_DeletePool:
		return f.applyTreeWrite(st, op.DeletePool.GetWrite(), treeUpdate)
	case *storepb.Command_CreateMember:
		return f.applyTreeWrite(st, op.CreateMember.GetWrite(), treeUpdate)
	case *storepb.Command_UpdateMember:
		return f.applyTreeWrite(st, op.UpdateMember.GetWrite(), treeUpdate)
	case *storepb.Command_DeleteMember:
		return f.applyTreeWrite(st, op.DeleteMember.GetWrite(), treeUpdate)
	case *storepb.Command_ReplaceMembers:
		return f.applyTreeWrite(st, op.ReplaceMembers.GetWrite(), treeUpdate)
	case *storepb.Command_CreateHealthMonitor:
		return f.applyTreeWrite(st, op.CreateHealthMonitor.GetWrite(), treeUpdate)
	case *storepb.Command_UpdateHealthMonitor:
		return f.applyTreeWrite(st, op.UpdateHealthMonitor.GetWrite(), treeUpdate)
	case *storepb.Command_DeleteHealthMonitor:
		return f.applyTreeWrite(st, op.DeleteHealthMonitor.GetWrite(), treeUpdate)
	case *storepb.Command_CreateL7Policy:
		return f.applyTreeWrite(st, op.CreateL7Policy.GetWrite(), treeUpdate)
	case *storepb.Command_UpdateL7Policy:
		return f.applyTreeWrite(st, op.UpdateL7Policy.GetWrite(), treeUpdate)
	case *storepb.Command_DeleteL7Policy:
		return f.applyTreeWrite(st, op.DeleteL7Policy.GetWrite(), treeUpdate)
	case *storepb.Command_CreateL7Rule:
		return f.applyTreeWrite(st, op.CreateL7Rule.GetWrite(), treeUpdate)
	case *storepb.Command_UpdateL7Rule:
		return f.applyTreeWrite(st, op.UpdateL7Rule.GetWrite(), treeUpdate)
	case *storepb.Command_DeleteL7Rule:
		return f.applyTreeWrite(st, op.DeleteL7Rule.GetWrite(), treeUpdate)
	case *storepb.Command_UpdateAmphora:
		return f.applyTreeWrite(st, op.UpdateAmphora.GetWrite(), treeUpdate)
	case *storepb.Command_Catalog:
		return f.applyCatalogOperation(st, op.Catalog)
	default: // ResolveRequest is decided by applyRequest
		return invalid("unknown command %T", cmd.Op)
	}
}

func (f *FSM) nextVersion() uint64 {
	f.lastVersion++
	return f.lastVersion
}

func ok(version uint64) *storepb.CommandResult {
	return &storepb.CommandResult{Code: storepb.CommandResult_OK, Version: version}
}

func invalid(format string, args ...interface{}) *storepb.CommandResult {
	return &storepb.CommandResult{Code: storepb.CommandResult_INVALID, Message: fmt.Sprintf(format, args...)}
}

func conflict(version uint64, format string, args ...interface{}) *storepb.CommandResult {
	return &storepb.CommandResult{Code: storepb.CommandResult_CONFLICT, Version: version, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...interface{}) *storepb.CommandResult {
	return &storepb.CommandResult{Code: storepb.CommandResult_NOT_FOUND, Message: fmt.Sprintf(format, args...)}
}

func inUse(format string, args ...interface{}) *storepb.CommandResult {
	return &storepb.CommandResult{Code: storepb.CommandResult_IN_USE, Message: fmt.Sprintf(format, args...)}
}

type treeMode int

const (
	treeCreate treeMode = iota // the load balancer must not exist (expected_version 0)
	treeUpdate                 // the load balancer must exist at expected_version
)

// applyTreeWrite checks the load balancer's version (the tree's compare-and-set),
// that the write stays inside the tree, and quotas for new objects; then writes
// every row with the command's version and removes the deleted ones.
func (f *FSM) applyTreeWrite(st *State, w *storepb.TreeWrite, mode treeMode) *storepb.CommandResult {
	if w == nil || w.LoadBalancer == nil || w.LoadBalancerId == "" || w.LoadBalancer.Id != w.LoadBalancerId {
		return invalid("tree write without its load balancer")
	}
	lbID := w.LoadBalancerId
	cur := st.LoadBalancer(lbID)
	switch {
	case mode == treeCreate && cur != nil:
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: "load balancer " + lbID + " exists", Version: cur.Version}
	case mode == treeUpdate && cur == nil:
		return notFound("load balancer %s not found", lbID)
	case mode == treeUpdate && cur.Version != w.ExpectedVersion:
		return conflict(cur.Version, "load balancer %s is at version %d, not %d", lbID, cur.Version, w.ExpectedVersion)
	}
	if res := checkTreeMembership(st, w); res != nil {
		return res
	}
	if res := checkTreeQuotas(st, w); res != nil {
		return res
	}

	v := f.nextVersion()
	lb := w.LoadBalancer
	if cur != nil {
		lb.CreatedAt, lb.ProjectId = cur.CreatedAt, cur.ProjectId // immutable
	}
	lb.Version = v
	st.LoadBalancers.Put(internLoadBalancer(lb))
	for _, id := range w.DeleteListeners {
		st.Listeners.Delete(id)
	}
	for _, id := range w.DeletePools {
		st.Pools.Delete(id)
	}
	for _, id := range w.DeleteMembers {
		st.Members.Delete(id)
	}
	for _, id := range w.DeleteHealthMonitors {
		st.HealthMonitors.Delete(id)
	}
	for _, id := range w.DeleteL7Policies {
		st.L7Policies.Delete(id)
	}
	for _, id := range w.DeleteL7Rules {
		st.L7Rules.Delete(id)
	}
	for _, id := range w.DeleteAmphorae {
		st.Amphorae.Delete(id)
	}
	for _, x := range w.Listeners {
		x.Version = v
		st.Listeners.Put(internListener(x))
	}
	for _, x := range w.Pools {
		x.Version = v
		st.Pools.Put(internPool(x))
	}
	for _, x := range w.Members {
		x.Version = v
		st.Members.Put(internMember(x))
	}
	for _, x := range w.HealthMonitors {
		x.Version = v
		st.HealthMonitors.Put(internHealthMonitor(x))
	}
	for _, x := range w.L7Policies {
		x.Version = v
		st.L7Policies.Put(internL7Policy(x))
	}
	for _, x := range w.L7Rules {
		x.Version = v
		st.L7Rules.Put(internL7Rule(x))
	}
	for _, x := range w.Amphorae {
		x.Version = v
		st.Amphorae.Put(internAmphora(x))
	}
	return ok(v)
}

// treeEntity is an entity of a load balancer's tree.
type treeEntity interface {
	Entity
	GetLoadbalancerId() string
}

// checkTreeMembership refuses a write that touches another tree's objects (ids are
// global; a grain only ever writes its own tree).
func checkTreeMembership(st *State, w *storepb.TreeWrite) *storepb.CommandResult {
	for _, r := range []*storepb.CommandResult{
		owned(st.Listeners, w.Listeners, "listener", w.LoadBalancerId),
		owned(st.Pools, w.Pools, "pool", w.LoadBalancerId),
		owned(st.Members, w.Members, "member", w.LoadBalancerId),
		owned(st.HealthMonitors, w.HealthMonitors, "health monitor", w.LoadBalancerId),
		owned(st.L7Policies, w.L7Policies, "l7 policy", w.LoadBalancerId),
		owned(st.L7Rules, w.L7Rules, "l7 rule", w.LoadBalancerId),
		owned(st.Amphorae, w.Amphorae, "amphora", w.LoadBalancerId),
	} {
		if r != nil {
			return r
		}
	}
	return nil
}

func owned[T treeEntity](t *Table[T], rows []T, kind, lbID string) *storepb.CommandResult {
	for _, x := range rows {
		if x.GetLoadbalancerId() != lbID {
			return invalid("%s %s written into load balancer %s's tree", kind, x.GetId(), lbID)
		}
		if cur, found := t.Get(x.GetId()); found && cur.GetLoadbalancerId() != lbID {
			return invalid("%s %s belongs to load balancer %s, not %s", kind, x.GetId(), cur.GetLoadbalancerId(), lbID)
		}
	}
	return nil
}

// Quota resource names, as Octavia's 403 names them.
const (
	QuotaLoadBalancer  = "Load Balancer"
	QuotaListener      = "Listener"
	QuotaPool          = "Pool"
	QuotaHealthMonitor = "Health Monitor"
	QuotaMember        = "Member"
	QuotaL7Policy      = "L7 Policy"
	QuotaL7Rule        = "L7 Rule"
)

// DefaultQuota is the limit for a project without a quota row (-1: unlimited), as
// Octavia's [quotas] default_*_quota defaults.
const DefaultQuota = -1

// QuotaLimit returns the effective limit of one resource for a project.
func (s *State) QuotaLimit(project, resource string) int32 {
	q, found := s.Quotas.Get(project)
	if !found {
		return DefaultQuota
	}
	var v *int32
	switch resource {
	case QuotaLoadBalancer:
		v = q.LoadBalancer
	case QuotaListener:
		v = q.Listener
	case QuotaPool:
		v = q.Pool
	case QuotaHealthMonitor:
		v = q.HealthMonitor
	case QuotaMember:
		v = q.Member
	case QuotaL7Policy:
		v = q.L7Policy
	case QuotaL7Rule:
		v = q.L7Rule
	}
	if v == nil {
		return DefaultQuota
	}
	return *v
}

// countProject counts a project's entities of one table, stopping at limit+1.
func countProject[T Entity](t *Table[T], project string, limit int) int {
	n := 0
	t.projectCreated.AscendGreaterOrEqual(t.schema.Pivot(project, -1<<63, ""), func(v T) bool {
		if v.GetProjectId() != project {
			return false
		}
		n++
		return n <= limit
	})
	return n
}

// newIn counts the rows of a write that do not exist yet, per project.
func newIn[T Entity](t *Table[T], rows []T) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		if _, found := t.Get(r.GetId()); !found {
			out[r.GetProjectId()]++
		}
	}
	return out
}

func overQuota[T Entity](st *State, t *Table[T], rows []T, resource string) bool {
	for project, added := range newIn(t, rows) {
		limit := st.QuotaLimit(project, resource)
		if limit < 0 {
			continue
		}
		if countProject(t, project, int(limit))+added > int(limit) {
			return true
		}
	}
	return false
}

// checkTreeQuotas refuses a write that creates more objects than a project's
// quotas allow, naming every exceeded resource.
func checkTreeQuotas(st *State, w *storepb.TreeWrite) *storepb.CommandResult {
	var over []string
	if overQuota(st, st.LoadBalancers, []*storepb.LoadBalancer{w.LoadBalancer}, QuotaLoadBalancer) {
		over = append(over, QuotaLoadBalancer)
	}
	if overQuota(st, st.Listeners, w.Listeners, QuotaListener) {
		over = append(over, QuotaListener)
	}
	if overQuota(st, st.Pools, w.Pools, QuotaPool) {
		over = append(over, QuotaPool)
	}
	if overQuota(st, st.HealthMonitors, w.HealthMonitors, QuotaHealthMonitor) {
		over = append(over, QuotaHealthMonitor)
	}
	if overQuota(st, st.Members, w.Members, QuotaMember) {
		over = append(over, QuotaMember)
	}
	if overQuota(st, st.L7Policies, w.L7Policies, QuotaL7Policy) {
		over = append(over, QuotaL7Policy)
	}
	if overQuota(st, st.L7Rules, w.L7Rules, QuotaL7Rule) {
		over = append(over, QuotaL7Rule)
	}
	if len(over) > 0 {
		return &storepb.CommandResult{Code: storepb.CommandResult_QUOTA_EXCEEDED,
			Message: "Quota has been met for resources: " + strings.Join(over, ", ")}
	}
	return nil
}

// applyPurgeLoadBalancer removes a load balancer and its whole tree.
func (f *FSM) applyPurgeLoadBalancer(st *State, c *storepb.PurgeLoadBalancer) *storepb.CommandResult {
	cur := st.LoadBalancer(c.Id)
	if cur == nil {
		return ok(0) // already gone: purging is idempotent
	}
	if cur.Version != c.ExpectedVersion {
		return conflict(cur.Version, "load balancer %s is at version %d, not %d", c.Id, cur.Version, c.ExpectedVersion)
	}
	deleteAll(st.Listeners, c.Id)
	deleteAll(st.Pools, c.Id)
	deleteAll(st.Members, c.Id)
	deleteAll(st.HealthMonitors, c.Id)
	deleteAll(st.L7Policies, c.Id)
	deleteAll(st.L7Rules, c.Id)
	deleteAll(st.Amphorae, c.Id)
	st.LoadBalancers.Delete(c.Id)
	f.nextVersion()
	return ok(0)
}

func deleteAll[T Entity](t *Table[T], lbID string) {
	for _, v := range Collect(t, IndexLoadBalancer, lbID) {
		t.Delete(v.GetId())
	}
}

// Snapshot captures the tables at this point (a published State is immutable).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{
		state:       f.state.Current(),
		applied:     f.state.AppliedIndex(),
		lastVersion: f.lastVersion,
		clock:       f.clock,
		requests:    f.requests.all(),
	}, nil
}

// Restore replaces the tables with a snapshot's content.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, hdr, requests, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	f.write = st
	f.clock = hdr.ClockUnixMs
	f.requests = newRequestTable()
	for _, r := range requests {
		f.requests.remember(r.RequestId, r.Result, r.DeadlineUnixMs)
	}
	f.state.publish(st.clone())
	f.lastVersion = hdr.LastVersion
	f.state.setApplied(hdr.AppliedIndex)
	return nil
}
