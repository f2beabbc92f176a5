package store

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"keel/cluster/metrics"
	"keel/store/storepb"
)

// FSM applies committed Raft entries to the StateStore. Each log entry carries a
// CommandBatch; its commands are applied in order to the FSM's working copy of the
// tables, each with its own CommandResult, then a clone is published. Every check
// the FSM makes is deterministic (compare-and-set on versions, existence, quotas,
// uniqueness), so every node reaches the same state.
type FSM struct {
	state *StateStore
	// The FSM's working copy of the tables is state's (StateStore.beginWrite);
	// only the FSM goroutine changes it, and lastVersion.
	// lastVersion is the modification sequence handed to entities as their version.
	lastVersion uint64
	// clock is the newest leader time (unix ms) of the entries applied: the FSM's
	// deterministic notion of now, against which request deadlines are checked.
	clock int64
	// entryBuf is where compressed entries are decompressed (decodeEntry).
	entryBuf []byte
	// requests remembers applied requests until their deadlines (requests.go).
	requests *requestTable
	// nextExpiry is the earliest deadline the request table holds (0: none),
	// published for the leader's clock tick (Node.clockLoop).
	nextExpiry atomic.Int64
}

// defaultRequestLifetime is how long a request without a deadline of its own is
// remembered (and how long Propose gives a command it sends without one): longer
// than any of keel's retries of it can live.
const defaultRequestLifetime = 30 * time.Second

// NewFSM returns an FSM over an empty state store.
func NewFSM() *FSM {
	f := &FSM{state: NewStateStore(), requests: newRequestTable()}
	f.state.replaceWorking(newState())
	return f
}

// State returns the tables the FSM writes.
func (f *FSM) State() *StateStore { return f.state }

var _ raft.BatchingFSM = (*FSM)(nil)

// Apply applies one log entry.
func (f *FSM) Apply(l *raft.Log) interface{} {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies consecutive committed entries to the working copy, which the
// next reader publishes (StateStore.Current).
func (f *FSM) ApplyBatch(logs []*raft.Log) []interface{} {
	start := time.Now()
	commands := 0
	out := make([]interface{}, len(logs))
	var last uint64
	for i, l := range logs {
		last = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		data, err := decodeEntry(l.Data, f.entryBuf)
		if err != nil {
			out[i] = fmt.Errorf("store: undecodable log entry %d: %w", l.Index, err)
			continue
		}
		if len(data) > 0 && &data[0] != &l.Data[0] {
			f.entryBuf = data // decompressed here; the commands below copy what they keep
		}
		var batch storepb.CommandBatch
		if err := batch.UnmarshalVT(data); err != nil { // generated code (vtproto): no reflection
			out[i] = fmt.Errorf("store: undecodable log entry %d: %w", l.Index, err)
			continue
		}
		if batch.LeaderTimeUnixMs > f.clock {
			f.clock = batch.LeaderTimeUnixMs
			f.requests.forgetBefore(f.clock)
		}
		commands += len(batch.Commands)
		results := make([]*storepb.CommandResult, len(batch.Commands))
		// Held per entry, not per batch: a reader that needs a fresh clone waits
		// for one entry at most, even while a catching-up node applies many.
		st := f.state.beginWrite()
		for j, cmd := range batch.Commands {
			results[j] = f.applyRequest(st, cmd)
		}
		f.state.endWrite()
		out[i] = results
	}
	f.nextExpiry.Store(f.requests.nextDeadline())
	f.state.remembered.Store(int64(f.requests.len()))
	if last > 0 {
		f.state.setApplied(last)
	}
	metrics.ObserveFSMApply(time.Since(start), commands)
	return out
}

// applyCommand is the one switch over command types.
func (f *FSM) applyCommand(st *State, cmd *storepb.Command) *storepb.CommandResult {
	switch op := cmd.Op.(type) {
	case *storepb.Command_TreeTransaction:
		return f.applyTreeTransaction(st, op.TreeTransaction)
	case *storepb.Command_PurgeLoadBalancer:
		return f.applyPurgeLoadBalancer(st, op.PurgeLoadBalancer)
	case *storepb.Command_Catalog:
		return f.applyCatalogOperation(st, op.Catalog)
	case *storepb.Command_InitAmphoraSecrets:
		return f.applyInitAmphoraSecrets(st, op.InitAmphoraSecrets)
	case *storepb.Command_RecordAmphoraStats:
		return f.applyRecordAmphoraStats(st, op.RecordAmphoraStats)
	case *storepb.Command_HostOperation:
		return f.applyHostOperation(st, op.HostOperation)
	case *storepb.Command_SetResourceProperty:
		return f.applySetResourceProperty(st, op.SetResourceProperty)
	case *storepb.Command_LeaseTransaction:
		return f.applyLeaseTransaction(st, op.LeaseTransaction)
	case *storepb.Command_InstanceTransaction:
		return f.applyInstanceTransaction(st, op.InstanceTransaction)
	case *storepb.Command_InstanceTypeOperation:
		return f.applyInstanceTypeOperation(st, op.InstanceTypeOperation)
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

// applyTreeTransaction checks the load balancer's version (the tree's
// compare-and-set), that the write stays inside the tree, that it does what its
// intent says, and quotas for new objects; then writes every row with the
// command's version and removes the deleted ones.
func (f *FSM) applyTreeTransaction(st *State, tx *storepb.TreeTransaction) *storepb.CommandResult {
	w := tx.GetWrite()
	cur := st.LoadBalancer(w.GetLoadBalancerId())
	if res := withLoadBalancerRow(tx, cur); res != nil {
		return res
	}
	if w == nil || w.LoadBalancer == nil || w.LoadBalancerId == "" || w.LoadBalancer.Id != w.LoadBalancerId {
		return invalid("tree transaction without its load balancer")
	}
	intent := tx.GetIntent()
	if intent == storepb.TreeTransaction_INTENT_UNSPECIFIED {
		return invalid("tree transaction without an intent")
	}
	lbID := w.LoadBalancerId
	create := intent == storepb.TreeTransaction_CREATE_LOAD_BALANCER
	switch {
	case create && cur != nil:
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: "load balancer " + lbID + " exists", Version: cur.Version}
	case !create && cur == nil:
		return notFound("load balancer %s not found", lbID)
	case !create && cur.Version != w.ExpectedVersion:
		return conflict(cur.Version, "load balancer %s is at version %d, not %d", lbID, cur.Version, w.ExpectedVersion)
	}
	if create {
		if res := checkVipClaims(st, w.LoadBalancer, tx.GetExclusiveVip()); res != nil {
			return res
		}
	}
	if res := checkTreeMembership(st, w); res != nil {
		return res
	}
	if res := checkIntent(st, intent, w); res != nil {
		return res
	}
	if res := checkTreeQuotas(st, w, create); res != nil {
		return res
	}

	v := f.nextVersion()
	lb := w.LoadBalancer
	if cur != nil {
		lb.CreatedAt, lb.ProjectId = cur.CreatedAt, cur.ProjectId // immutable
		// The strings the tree's rows share (parentOf) stay the first
		// version's, so the children's copies of them stay shared.
		lb.Id = shared(lb.Id, cur.Id)
		lb.VipAddress, lb.VipPortId = shared(lb.VipAddress, cur.VipAddress), shared(lb.VipPortId, cur.VipPortId)
	}
	lb.Version = v
	st.LoadBalancers.Put(internLoadBalancer(lb))
	parent := parentOf(lb) // the stored row's strings, which the children's rows share
	for _, k := range childKinds {
		k.write(st, w, v, parent)
	}
	dropStatistics(st, w)
	return ok(v)
}

// withLoadBalancerRow gives a write that sends only its load balancer's statuses
// (load_balancer_status) the row they make of the current one. The version check
// that follows refuses it if the current row is not the one it was decided from.
func withLoadBalancerRow(tx *storepb.TreeTransaction, cur *storepb.LoadBalancer) *storepb.CommandResult {
	w := tx.GetWrite()
	if w.GetLoadBalancerStatus() == nil {
		return nil
	}
	switch {
	case w.LoadBalancer != nil:
		return invalid("tree transaction with both its load balancer's row and its statuses")
	case tx.GetIntent() == storepb.TreeTransaction_CREATE_LOAD_BALANCER:
		return invalid("a create sends its load balancer's row")
	}
	if cur == nil {
		return notFound("load balancer %s not found", w.LoadBalancerId)
	}
	w.LoadBalancer, w.LoadBalancerStatus = w.LoadBalancerStatus.AppliedTo(cur), nil
	return nil
}

// checkVipClaims refuses a new load balancer a VIP another one holds, as Neutron
// refuses a second port on an address or a port already in use: an exclusive
// address (the local amphora driver's, on this host), a named address in the
// same subnet — its VIP's or an additional VIP's, against either of another load
// balancer's — or the same VIP port. It is checked here, where creates are
// serialised, because two grains (one per load balancer id) decide creates
// concurrently; the grain checks the same first (actors/vip.go) to word the
// refusal for its caller, and decides again after this CONFLICT.
func checkVipClaims(st *State, lb *storepb.LoadBalancer, exclusive bool) *storepb.CommandResult {
	if lb.NamedVipPort() {
		if h := st.VipPortHolder(lb.VipPortId); h != nil {
			return conflict(0, "VIP port %s is used by load balancer %s", lb.VipPortId, h.Id)
		}
	}
	if exclusive {
		addr := lb.GetVipAddress()
		if h := st.LoadBalancerWithVip(addr); h != nil {
			return conflict(0, "IP address %s already allocated (load balancer %s)", addr, h.Id)
		}
	}
	claims := lb.VipAddressClaims()
	for i, c := range claims {
		if h := st.VipAddressHolder(c.SubnetId, c.IpAddress); h != nil {
			return conflict(0, "IP address %s already allocated in subnet %s (load balancer %s)", c.IpAddress, c.SubnetId, h.Id)
		}
		for _, d := range claims[:i] { // the grain refuses these (400)
			if vipClaimKey(d.SubnetId, d.IpAddress) == vipClaimKey(c.SubnetId, c.IpAddress) {
				return invalid("load balancer %s claims IP address %s in subnet %s twice", lb.Id, c.IpAddress, c.SubnetId)
			}
		}
	}
	return nil
}

// checkIntent refuses a transaction whose write set does not do what its intent
// names: a create must insert a row of its kind (so a grain bug that would record
// an update as a create, or lose the new row, is refused rather than applied).
func checkIntent(st *State, intent storepb.TreeTransaction_Intent, w *storepb.TreeWrite) *storepb.CommandResult {
	for _, k := range childKinds {
		if k.creates() == intent && !k.inserts(st, w) {
			return invalid("%s inserts no new row", intent)
		}
	}
	return nil
}

// insertsInto reports whether rows holds one not yet in t.
func insertsInto[T Entity](t *Table[T], rows []T) bool {
	for _, x := range rows {
		if _, ok := t.Get(x.GetId()); !ok {
			return true
		}
	}
	return false
}

// TreeEntity is an entity of a load balancer's tree (a child kind's row).
type TreeEntity interface {
	Entity
	GetLoadbalancerId() string
}

// checkTreeMembership refuses a write that touches another tree's objects (ids are
// global; a grain only ever writes its own tree).
func checkTreeMembership(st *State, w *storepb.TreeWrite) *storepb.CommandResult {
	for _, k := range childKinds {
		if r := k.owned(st, w); r != nil {
			return r
		}
	}
	return nil
}

func owned[T TreeEntity](t *Table[T], rows []T, kind, lbID string) *storepb.CommandResult {
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
	t.projectCreated.Ascend(t.schema.Pivot(project, -1<<63, ""), func(v T) bool {
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
	if len(rows) == 0 {
		return nil
	}
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
// quotas allow, naming every exceeded resource. Only a create (createsLB) adds a
// load balancer.
func checkTreeQuotas(st *State, w *storepb.TreeWrite, createsLB bool) *storepb.CommandResult {
	var over []string
	if createsLB && overQuota(st, st.LoadBalancers, []*storepb.LoadBalancer{w.LoadBalancer}, QuotaLoadBalancer) {
		over = append(over, QuotaLoadBalancer)
	}
	for _, k := range quotaOrder {
		if r := k.overQuota(st, w); r != "" {
			over = append(over, r)
		}
	}
	if len(over) > 0 {
		return &storepb.CommandResult{Code: storepb.CommandResult_QUOTA_EXCEEDED,
			Message: "Quota has been met for resources: " + strings.Join(over, ", ")}
	}
	return nil
}

// quotaOrder is the order Octavia's 403 names exceeded resources in.
var quotaOrder = []childKind{ListenerKind, PoolKind, HealthMonitorKind, MemberKind, L7PolicyKind, L7RuleKind}

// applyInitAmphoraSecrets stores the cluster's amphora secrets once: the first
// complete set wins; a later one changes nothing.
func (f *FSM) applyInitAmphoraSecrets(st *State, c *storepb.InitAmphoraSecrets) *storepb.CommandResult {
	sec := c.GetSecrets()
	if sec.GetCaCertPem() == "" || sec.GetCaKeyPem() == "" || sec.GetHeartbeatKey() == "" {
		return invalid("amphora secrets need a CA certificate, its key and a heartbeat key")
	}
	if st.AmphoraSecrets == nil {
		st.AmphoraSecrets = sec
	}
	return ok(0)
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
	for _, k := range childKinds {
		k.purge(st, c.Id)
	}
	purgeStatistics(st, c.Id)
	st.LoadBalancers.Delete(c.Id)
	f.nextVersion()
	return ok(0)
}

// Snapshot captures the tables at this point (a published State is immutable).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{
		state:       f.state.Current(),
		applied:     f.state.AppliedIndex(),
		lastVersion: f.lastVersion,
		clock:       f.clock,
		requests:    f.requests.all(),
		stats:       &f.state.snapshots,
	}, nil
}

// Restore replaces the tables with a snapshot's content.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	start := time.Now()
	// Nearly everything a restore allocates is a row it keeps: a collection
	// during it finds no garbage, and the heap doubling from nothing to the
	// whole state meant a dozen of them, each marking every row read so far
	// (at 1M load balancers, more CPU than decoding). So the collector waits
	// until the restore is done (a soft memory limit, if set, still applies).
	defer pauseGC()()
	st, hdr, requests, records, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	defer func() {
		f.state.snapshots.restored(hdr.AppliedIndex, records, time.Since(start))
	}()
	f.clock = hdr.ClockUnixMs
	f.requests = newRequestTable()
	for _, r := range requests {
		f.requests.remember(r.RequestId, r.Result, r.DeadlineUnixMs)
	}
	f.state.replaceWorking(st)
	f.lastVersion = hdr.LastVersion
	f.state.setApplied(hdr.AppliedIndex)
	metrics.ObserveRestore(time.Since(start))
	return nil
}
