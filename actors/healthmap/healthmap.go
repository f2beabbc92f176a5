// Package healthmap owns the meaning of one amphora heartbeat for its load balancer:
// the operating_status changes of the load balancer, its listeners, pools and members,
// whether the heartbeat counts as a sign of life for failover, and the listeners'
// traffic counters, exactly as Octavia's health manager computes them
// (octavia/amphorae/drivers/health/heartbeat_udp.py: UpdateHealthDb._update_health,
// _process_pool_status and update_stats; reference §2.3 and §4.1). It is pure: no I/O,
// no clock, no state; the caller (the amphora grain) holds the rows and writes only
// what Map returns as changed. docs/heartbeat.md, "Mapping", is the contract.
package healthmap

import (
	"fmt"
	"sort"
	"strings"

	"keel/agent/heartbeat"
	"keel/store/storepb"
)

// Octavia's operating and provisioning statuses used here.
const (
	online    = "ONLINE"
	offline   = "OFFLINE"
	degraded  = "DEGRADED"
	errorSt   = "ERROR"
	draining  = "DRAINING"
	noMonitor = "NO_MONITOR"
	active    = "ACTIVE"
)

// haproxy's statuses as the agent reports them (Octavia's constants).
const (
	statusOpen       = "OPEN"
	statusFull       = "FULL"
	statusUp         = "UP"
	statusDown       = "DOWN"
	statusDrain      = "DRAIN"
	statusMaint      = "MAINT"
	statusNoCheck    = "no check"
	statusRestarting = "RESTARTING"
)

// Kind is the kind of object a Change is about.
type Kind string

// The kinds, as Octavia names them.
const (
	LoadBalancer Kind = "loadbalancer"
	Listener     Kind = "listener"
	Pool         Kind = "pool"
	Member       Kind = "member"
)

// Change is one object's new operating_status.
type Change struct {
	Kind Kind
	ID   string
	// From is the operating_status as stored, To the one to store.
	From, To string
}

func (c Change) String() string { return fmt.Sprintf("%s %s %s->%s", c.Kind, c.ID, c.From, c.To) }

// Stats are one listener's counters from one heartbeat (Octavia v3): BytesIn,
// BytesOut, TotalConnections and RequestErrors are deltas since the amphora's
// previous heartbeat, ActiveConnections is the current number.
type Stats struct {
	ListenerID        string
	BytesIn           uint64
	BytesOut          uint64
	ActiveConnections uint64
	TotalConnections  uint64
	RequestErrors     uint64
}

// Add folds the next heartbeat's stats of the same listener and amphora into s, as
// Octavia's stats driver does for v3: deltas accumulate, ActiveConnections is
// replaced.
func (s *Stats) Add(next Stats) {
	s.BytesIn += next.BytesIn
	s.BytesOut += next.BytesOut
	s.TotalConnections += next.TotalConnections
	s.RequestErrors += next.RequestErrors
	s.ActiveConnections = next.ActiveConnections
}

// Result is what one heartbeat means.
type Result struct {
	// Changes are the operating statuses that differ from the rows, in Octavia's
	// order: listeners, then per pool its members and the pool, then pools not
	// reported, the load balancer last. Empty when nothing changed: the caller
	// writes nothing.
	Changes []Change
	// Alive tells whether the heartbeat refreshes the amphora's health (Octavia's
	// amphora_health.last_update, what failover watches): only when it reports as
	// many listeners as the load balancer has enabled ones, or whenever the load
	// balancer is PENDING_* or disabled. A running amphora missing a listener is
	// thus eventually failed over. Statuses are mapped either way.
	Alive bool
	// Stats has one entry per listener of the tree the heartbeat reports, in the
	// tree's order (a listener the tree no longer has is left out).
	Stats []Stats
	// Warnings are what Octavia logs as warnings: statuses it does not know, and a
	// listener count that does not match.
	Warnings []string
}

// Map maps one verified heartbeat (version 3, as heartbeat.Verifier accepts) onto
// the load balancer's rows. A nil t.LoadBalancer (an amphora whose load balancer is
// gone) maps to nothing; what to do with such an amphora is the caller's business.
func Map(msg *heartbeat.Message, t *storepb.Tree) Result {
	var r Result
	lb := t.GetLoadBalancer()
	if msg == nil || lb == nil {
		return r
	}

	// Is the amphora alive for failover's purposes?
	if strings.Contains(lb.ProvisioningStatus, "PENDING") || !lb.AdminStateUp {
		r.Alive = true
	} else {
		expected := 0
		for _, l := range t.GetListeners() {
			if l.AdminStateUp {
				expected++
			}
		}
		r.Alive = len(msg.Listeners) == expected
		if !r.Alive {
			r.warn("amphora %s health message reports %d listeners when %d expected", msg.ID, len(msg.Listeners), expected)
		}
	}

	// "We got a heartbeat so lb is healthy until proven otherwise."
	lbStatus := online
	if !lb.AdminStateUp {
		lbStatus = offline
	}

	for _, l := range t.GetListeners() {
		status := ""
		if rep, ok := msg.Listeners[l.Id]; !ok {
			if l.AdminStateUp && lb.ProvisioningStatus == active {
				status = errorSt
			} else {
				status = offline
			}
		} else {
			switch rep.Status {
			case statusOpen:
				status = online
			case statusFull:
				status = degraded
				if lbStatus == online {
					lbStatus = degraded
				}
			default:
				r.warn("listener %s reported status of %s", l.Id, rep.Status)
			}
		}
		r.change(Listener, l.Id, l.OperatingStatus, status)
	}

	// Pools are keyed "<pool>:<listener>"; Octavia keys them by the pool alone (the
	// key up to its last ':'). When two listeners report the same pool, Octavia keeps
	// whichever its dict iterates last; keel keeps the greatest key, so the outcome
	// does not depend on Go's map order.
	keys := make([]string, 0, len(msg.Pools))
	for k := range msg.Pools {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	reported := make(map[string]heartbeat.Pool, len(keys))
	for _, k := range keys {
		id := k
		if i := strings.LastIndexByte(k, ':'); i >= 0 {
			id = k[:i]
		}
		reported[id] = msg.Pools[k]
	}
	members := map[string][]*storepb.Member{}
	for _, m := range t.GetMembers() {
		members[m.PoolId] = append(members[m.PoolId], m)
	}

	processed := map[string]bool{}
	var unreported []*storepb.Pool
	for _, p := range t.GetPools() {
		if processed[p.Id] {
			continue
		}
		rep, ok := reported[p.Id]
		if !ok {
			unreported = append(unreported, p)
			continue
		}
		processed[p.Id] = true
		lbStatus = r.pool(p, rep, members[p.Id], lbStatus)
	}
	for _, p := range unreported {
		if !processed[p.Id] {
			r.change(Pool, p.Id, p.OperatingStatus, offline)
		}
	}

	r.change(LoadBalancer, lb.Id, lb.OperatingStatus, lbStatus)

	for _, l := range t.GetListeners() {
		rep, ok := msg.Listeners[l.Id]
		if !ok {
			continue
		}
		r.Stats = append(r.Stats, Stats{ListenerID: l.Id, BytesIn: rep.Stats.RX, BytesOut: rep.Stats.TX,
			ActiveConnections: rep.Stats.Conns, TotalConnections: rep.Stats.TotConns, RequestErrors: rep.Stats.Ereq})
	}
	return r
}

// pool is Octavia's _process_pool_status for a reported pool; it returns the load
// balancer's status as the pool leaves it.
func (r *Result) pool(p *storepb.Pool, rep heartbeat.Pool, members []*storepb.Member, lbStatus string) string {
	poolStatus := ""
	switch rep.Status {
	case statusUp: // haproxy's backend has working servers, or none
		poolStatus = online
	case statusDown: // it has no working servers
		poolStatus = errorSt
		lbStatus = errorSt
	default:
		r.warn("pool %s reported status of %s", p.Id, rep.Status)
	}
	for _, m := range members {
		status := ""
		if st, ok := rep.Members[m.Id]; !ok {
			if m.OperatingStatus != noMonitor {
				status = offline
			}
		} else {
			switch {
			case strings.HasPrefix(st, statusUp): // "UP", "UP 1/3" (going down)
				status = online
			case strings.HasPrefix(st, statusDown): // "DOWN", "DOWN 1/2" (coming up)
				status = errorSt
				if poolStatus == online {
					poolStatus = degraded
					if lbStatus == online {
						lbStatus = degraded
					}
				}
			case st == statusDrain:
				status = draining
			case st == statusMaint: // disabled members are rendered "disabled"
				status = offline
			case st == statusNoCheck:
				status = noMonitor
			case st == statusRestarting:
				// keepalived restarting: keep the status until a real one comes.
			default:
				r.warn("member %s reported status of %s", m.Id, st)
			}
		}
		r.change(Member, m.Id, m.OperatingStatus, status)
	}
	r.change(Pool, p.Id, p.OperatingStatus, poolStatus)
	return lbStatus
}

// change records a new status unless there is none or it is the stored one (Octavia
// compares case-insensitively).
func (r *Result) change(kind Kind, id, from, to string) {
	if to == "" || strings.EqualFold(from, to) {
		return
	}
	r.Changes = append(r.Changes, Change{Kind: kind, ID: id, From: from, To: to})
}

func (r *Result) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}
