package actors

import (
	"google.golang.org/protobuf/proto"

	"keel/store"
	"keel/store/storepb"
)

// Provisioning and operating statuses (Octavia's constants).
const (
	StatusActive        = "ACTIVE"
	StatusError         = "ERROR"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"

	OperatingOnline    = "ONLINE"
	OperatingOffline   = "OFFLINE"
	OperatingDegraded  = "DEGRADED"
	OperatingError     = "ERROR"
	OperatingNoMonitor = "NO_MONITOR"
	OperatingDraining  = "DRAINING"

	AmphoraAllocated = "ALLOCATED"
	AmphoraReady     = "READY"
)

// IsPending reports whether a provisioning status is one of the immutable PENDING_*.
func IsPending(status string) bool { return len(status) > 8 && status[:8] == "PENDING_" }

// initialMemberStatus is Octavia's operating status for a new member: OFFLINE when
// its pool has a health monitor (health will tell), else NO_MONITOR.
func initialMemberStatus(t *tree, poolID string) string {
	if t.MonitorOfPool(poolID) != nil {
		return OperatingOffline
	}
	return OperatingNoMonitor
}

// rollUp recomputes the operating statuses the tree derives, bottom up, writing the
// rows whose status changes into w (and w's rows are the ones it reads first):
//
//   - a member keeps what health reported (ONLINE, ERROR, DRAINING, NO_MONITOR…);
//     a disabled member is OFFLINE; a member whose pool lost its monitor is
//     NO_MONITOR; a member of a monitored pool that never reported is ONLINE once
//     provisioned (keel assumes health until an amphora says otherwise).
//   - a pool is OFFLINE when disabled, ERROR when every member is in ERROR,
//     DEGRADED when some are, else ONLINE.
//   - a listener is OFFLINE when disabled, DEGRADED when a pool it uses is DEGRADED
//     or in ERROR, else ONLINE. The pools it uses are store.PoolsOfListener's: the
//     default pool and the redirect pools of enabled L7 policies with rules (no
//     traffic reaches the others).
//   - the load balancer is OFFLINE when disabled, DEGRADED when a listener is
//     DEGRADED or a pool in ERROR, else ONLINE.
//   - health monitors, L7 policies and rules are ONLINE when enabled, else OFFLINE.
//
// Objects still in PENDING_CREATE keep their initial status until provisioned.
func rollUp(t *tree, w *storepb.TreeWrite) {
	members := map[string]*storepb.Member{}
	for id, m := range t.members {
		members[id] = m
	}
	for _, m := range w.Members {
		members[m.Id] = m
	}
	deleted := map[string]bool{}
	for _, id := range w.DeleteMembers {
		deleted[id] = true
	}
	monitored := map[string]bool{}
	for _, hm := range mergedMonitors(t, w) {
		if hm.AdminStateUp {
			monitored[hm.PoolId] = true
		}
	}

	memberStatus := map[string][]string{} // pool -> member statuses
	for id, m := range members {
		if deleted[id] || m.ProvisioningStatus == StatusPendingDelete {
			continue
		}
		want := m.OperatingStatus
		switch {
		case m.ProvisioningStatus == StatusPendingCreate:
		case !m.AdminStateUp:
			want = OperatingOffline
		case !monitored[m.PoolId]:
			want = OperatingNoMonitor
		case want == OperatingNoMonitor || want == OperatingOffline:
			want = OperatingOnline
		}
		if want != m.OperatingStatus {
			m = writableMember(t, w, id)
			m.OperatingStatus = want
		}
		memberStatus[m.PoolId] = append(memberStatus[m.PoolId], want)
	}

	poolStatus := map[string]string{}
	for id := range mergedIDs(t.pools, w.Pools, w.DeletePools) {
		p := currentPool(t, w, id)
		want := OperatingOnline
		errs, total := 0, len(memberStatus[id])
		for _, s := range memberStatus[id] {
			if s == OperatingError {
				errs++
			}
		}
		switch {
		case p.ProvisioningStatus == StatusPendingCreate:
			want = p.OperatingStatus
		case !p.AdminStateUp:
			want = OperatingOffline
		case total > 0 && errs == total:
			want = OperatingError
		case errs > 0:
			want = OperatingDegraded
		}
		if want != p.OperatingStatus {
			p = writablePool(t, w, id)
			p.OperatingStatus = want
		}
		poolStatus[id] = want
	}

	degraded := false
	after := t.withWrite(w)
	for id := range mergedIDs(t.listeners, w.Listeners, w.DeleteListeners) {
		l := currentListener(t, w, id)
		want := OperatingOnline
		switch {
		case l.ProvisioningStatus == StatusPendingCreate:
			want = l.OperatingStatus
		case !l.AdminStateUp:
			want = OperatingOffline
		default:
			for _, p := range store.PoolsOfListener(after, l) {
				if s := poolStatus[p.Id]; s == OperatingDegraded || s == OperatingError {
					want = OperatingDegraded
				}
			}
		}
		if want != l.OperatingStatus {
			l = writableListener(t, w, id)
			l.OperatingStatus = want
		}
		degraded = degraded || want == OperatingDegraded
	}
	for _, s := range poolStatus {
		degraded = degraded || s == OperatingError
	}

	lb := w.LoadBalancer
	switch {
	case lb.ProvisioningStatus == StatusPendingCreate:
	case !lb.AdminStateUp:
		lb.OperatingStatus = OperatingOffline
	case degraded:
		lb.OperatingStatus = OperatingDegraded
	default:
		lb.OperatingStatus = OperatingOnline
	}

	for _, hm := range mergedMonitors(t, w) {
		if hm.ProvisioningStatus == StatusPendingCreate {
			continue
		}
		want := enabledStatus(hm.AdminStateUp)
		if want != hm.OperatingStatus {
			x := writableMonitor(t, w, hm.Id)
			x.OperatingStatus = want
		}
	}
}

func enabledStatus(up bool) string {
	if up {
		return OperatingOnline
	}
	return OperatingOffline
}

func mergedIDs[T interface{ GetId() string }](cache map[string]T, written []T, deleted []string) map[string]bool {
	ids := map[string]bool{}
	for id := range cache {
		ids[id] = true
	}
	for _, x := range written {
		ids[x.GetId()] = true
	}
	for _, id := range deleted {
		delete(ids, id)
	}
	return ids
}

func mergedMonitors(t *tree, w *storepb.TreeWrite) []*storepb.HealthMonitor {
	byID := map[string]*storepb.HealthMonitor{}
	for id, hm := range t.monitors {
		byID[id] = hm
	}
	for _, hm := range w.HealthMonitors {
		byID[hm.Id] = hm
	}
	for _, id := range w.DeleteHealthMonitors {
		delete(byID, id)
	}
	out := make([]*storepb.HealthMonitor, 0, len(byID))
	for _, hm := range byID {
		if hm.ProvisioningStatus != StatusPendingDelete {
			out = append(out, hm)
		}
	}
	return out
}

// treeRow is a row of a load balancer's tree.
type treeRow interface {
	proto.Message
	GetId() string
}

// current returns the row as the write set holds it, else as cached.
func current[T treeRow](cache map[string]T, rows []T, id string) T {
	for _, x := range rows {
		if x.GetId() == id {
			return x
		}
	}
	return cache[id]
}

// writable returns the row as the write set holds it, first cloning the cached row
// into the write set if the write does not hold it yet.
func writable[T treeRow](cache map[string]T, rows *[]T, id string) T {
	for _, x := range *rows {
		if x.GetId() == id {
			return x
		}
	}
	x := cloneRow(cache[id])
	*rows = append(*rows, x)
	return x
}

func currentPool(t *tree, w *storepb.TreeWrite, id string) *storepb.Pool {
	return current(t.pools, w.Pools, id)
}

func currentListener(t *tree, w *storepb.TreeWrite, id string) *storepb.Listener {
	return current(t.listeners, w.Listeners, id)
}

func writableListener(t *tree, w *storepb.TreeWrite, id string) *storepb.Listener {
	return writable(t.listeners, &w.Listeners, id)
}

func writablePool(t *tree, w *storepb.TreeWrite, id string) *storepb.Pool {
	return writable(t.pools, &w.Pools, id)
}

func writableMember(t *tree, w *storepb.TreeWrite, id string) *storepb.Member {
	return writable(t.members, &w.Members, id)
}

func writableMonitor(t *tree, w *storepb.TreeWrite, id string) *storepb.HealthMonitor {
	return writable(t.monitors, &w.HealthMonitors, id)
}

func writablePolicy(t *tree, w *storepb.TreeWrite, id string) *storepb.L7Policy {
	return writable(t.policies, &w.L7Policies, id)
}

func writableRule(t *tree, w *storepb.TreeWrite, id string) *storepb.L7Rule {
	return writable(t.rules, &w.L7Rules, id)
}

func writableAmphora(t *tree, w *storepb.TreeWrite, id string) *storepb.Amphora {
	return writable(t.amphorae, &w.Amphorae, id)
}
