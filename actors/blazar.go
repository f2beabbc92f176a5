package actors

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"keel/actors/actorspb"
	"keel/actors/reservation"
	"keel/store"
	"keel/store/storepb"
)

// What the Blazar grains (LeaseGrain, HostInventoryGrain) share: their
// settings, the notification hook, how a reservation.Error becomes a grain
// error, and the one read-decide-propose loop both use.

// LeaseSettings are Blazar's manager options keel's lease grains follow.
type LeaseSettings struct {
	// MinutesBeforeEnd is [manager] minutes_before_end_lease: without a
	// before_end_date, a lease's before_end_lease event is this long before
	// its end (never before its start). 0 means Blazar's default, 60; a
	// negative value means no before_end event (Blazar's 0).
	MinutesBeforeEnd int
	// CleaningTime is [DEFAULT] cleaning_time: the time a host needs between
	// two leases; every window is widened by it on both sides when hosts are
	// chosen and when the store checks for double booking. Default 0.
	CleaningTime time.Duration
}

// DefaultMinutesBeforeEnd is Blazar's minutes_before_end_lease.
const DefaultMinutesBeforeEnd = 60

func (s LeaseSettings) withDefaults() LeaseSettings {
	if s.MinutesBeforeEnd == 0 {
		s.MinutesBeforeEnd = DefaultMinutesBeforeEnd
	}
	if s.CleaningTime < 0 {
		s.CleaningTime = 0
	}
	return s
}

// minutesBeforeEnd is the value reservation.ValidateCreate takes (0: none).
func (s LeaseSettings) minutesBeforeEnd() int { return max(s.MinutesBeforeEnd, 0) }

// Blazar's notification event types (publisher blazar.lease).
const (
	NotifyLeaseCreate         = "lease.create"
	NotifyLeaseUpdate         = "lease.update"
	NotifyLeaseDelete         = "lease.delete"
	NotifyStartLease          = "lease.event.start_lease"
	NotifyBeforeEndLease      = "lease.event.before_end_lease"
	NotifyEndLease            = "lease.event.end_lease"
	NotifyBeforeEndLeaseReset = "lease.event.before_end_lease.stop"
)

// LeaseNotification is Blazar's notification payload.
type LeaseNotification struct {
	// RequestID is the API request that made the change ("" for a lease
	// event's: the scheduler's, no client's).
	RequestID string
	LeaseID   string
	UserID    string
	ProjectID string
	StartDate time.Time
	EndDate   time.Time
}

// LeaseNotifier hears a lease's notifications (NotifyLeaseCreate …), each once
// its command has committed, from the grain that wrote it. It is the hook other
// parts of keel use: the bare-metal API powers a lease's hosts on at
// lease.event.start_lease and off at lease.event.end_lease. A node that dies
// between the commit and the call loses the notification (at most once per
// change), so a hook that acts on hosts reconciles from the store as well.
// NotifyLease runs in the grain: it must return quickly.
type LeaseNotifier interface {
	NotifyLease(event string, payload LeaseNotification)
}

// LogNotifier is the default notifier: one structured INFO line per
// notification.
type LogNotifier struct{ Logger *slog.Logger }

// NotifyLease implements LeaseNotifier.
func (n LogNotifier) NotifyLease(event string, p LeaseNotification) {
	attrs := []any{"publisher", "blazar.lease", "event_type", event, "lease_id", p.LeaseID,
		"user_id", p.UserID, "project_id", p.ProjectID,
		"start_date", reservation.FormatDate(p.StartDate), "end_date", reservation.FormatDate(p.EndDate)}
	if p.RequestID != "" {
		attrs = append(attrs, "request_id", p.RequestID)
	}
	n.Logger.Info("notification", attrs...)
}

// NotifierFunc adapts a function to LeaseNotifier.
type NotifierFunc func(event string, payload LeaseNotification)

// NotifyLease implements LeaseNotifier.
func (f NotifierFunc) NotifyLease(event string, p LeaseNotification) { f(event, p) }

func notificationOf(l *storepb.Lease, caller *actorspb.Caller) LeaseNotification {
	return LeaseNotification{RequestID: caller.GetRequestId(), LeaseID: l.GetId(), UserID: l.GetUserId(), ProjectID: l.GetProjectId(),
		StartDate: time.UnixMilli(l.GetStartMs()).UTC(), EndDate: time.UnixMilli(l.GetEndMs()).UTC()}
}

// notify tells the notifier of a committed change to l, made for caller (nil:
// the grain's own step).
func (rt *Runtime) notify(event string, l *storepb.Lease, caller *actorspb.Caller) {
	if rt.Notifier != nil && l != nil {
		rt.Notifier.NotifyLease(event, notificationOf(l, caller))
	}
}

// blazarError turns a refusal of actors/reservation (Blazar's text, keel's
// HTTP status) into the grain error of that status class; other errors pass.
func blazarError(err error) error {
	var e *reservation.Error
	if !errors.As(err, &e) {
		return err
	}
	kind := KindInternal
	switch e.Code {
	case 400:
		kind = KindInvalid
	case 403:
		kind = KindForbidden
	case 404:
		kind = KindNotFound
	case 409:
		kind = KindConflict
	}
	return grainError(kind, "%s", e.Message)
}

// blazarAttempts bounds how often a grain decides again after losing a race
// (a version moved, a host it chose was taken). Each lost race means another
// writer committed, so a grain competing for hosts makes progress; the bound
// only stops pathological churn.
const blazarAttempts = 8

// proposeDecided reads after a barrier, decides, and proposes the command
// decided under the caller's request id (unless the decision named its own,
// for a grain's own step); when the FSM refuses with a lost race (retry says
// which), it reads and decides again, at most attempts times. It returns the
// FSM's OK (Replayed: an earlier attempt of the request applied it), nil when
// the decision was to do nothing (decide returned no command), or an error:
// the decision's refusal, the FSM's refusal as the API answers it, or
// unavailable.
func (rt *Runtime) proposeDecided(caller *actorspb.Caller, attempts int,
	decide func(st *store.State) (*storepb.Command, error),
	retry func(res *storepb.CommandResult) bool) (*storepb.CommandResult, error) {
	deadline := caller.GetDeadlineUnixMs()
	if deadline == 0 {
		deadline = RequestDeadline(rt.Now())
	}
	var last *storepb.CommandResult
	for attempt := 0; attempt < attempts; attempt++ {
		st, err := rt.read()
		if err != nil {
			return nil, unavailable(err)
		}
		cmd, err := decide(st)
		if err != nil {
			return nil, blazarError(err)
		}
		if cmd == nil {
			return nil, nil
		}
		if cmd.RequestId == "" {
			cmd.RequestId = caller.GetRequestId()
		}
		reqID := cmd.RequestId
		cmd.DeadlineUnixMs = deadline
		res, err := rt.Store.ProposeWithin(proposeStep, cmd)
		if errors.Is(err, store.ErrAmbiguous) && reqID != "" {
			// The command may still apply: decide it for good before answering.
			res, err = resolveRequest(rt, &actorspb.Caller{RequestId: reqID, DeadlineUnixMs: deadline})
			if err == nil && res.Code == storepb.CommandResult_ABORTED {
				continue // not applied, and now it never will be: decide again
			}
		}
		if err != nil {
			return nil, unavailable(err)
		}
		switch {
		case res.Code == storepb.CommandResult_OK:
			return res, nil
		case res.Code == storepb.CommandResult_EXPIRED || res.Code == storepb.CommandResult_ABORTED:
			return nil, grainError(KindNotApplied, "Service unavailable: %s; retry the request.", res.Message)
		case retry != nil && retry(res):
			last = res
			continue
		}
		return nil, refusal(res)
	}
	if hostRefused(last) {
		return nil, blazarError(reservation.ErrNotEnoughHosts())
	}
	return nil, grainError(KindConflict, "The resource is being changed concurrently; retry.")
}

// hostRefused: the FSM refused a host the decision chose (double booking):
// CONFLICT without a version.
func hostRefused(res *storepb.CommandResult) bool {
	return res != nil && res.Code == storepb.CommandResult_CONFLICT && res.Version == 0
}

// lostRace: the FSM refused a decision because another writer changed what it
// was decided on (a version, a host); decide again on a fresh read.
func lostRace(res *storepb.CommandResult) bool {
	switch res.Code {
	case storepb.CommandResult_CONFLICT, storepb.CommandResult_ALREADY_EXISTS, storepb.CommandResult_NOT_FOUND,
		storepb.CommandResult_IN_USE:
		return true
	}
	return false
}

// read returns the tables after a read barrier.
func (rt *Runtime) read() (*store.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rt.Store.Barrier(ctx); err != nil {
		return nil, err
	}
	return rt.Store.State().Current(), nil
}

// hostViews converts the inventory to what the host choice reads, caching
// each host's view by its version (10,000 hosts are converted once, not per
// lease).
type hostViews struct {
	mu    sync.Mutex
	views map[string]hostView
}

type hostView struct {
	version uint64
	host    reservation.Host
}

var sharedHostViews = &hostViews{views: map[string]hostView{}}

// candidates returns every host of st, in inventory order, as
// reservation.Host.
func (c *hostViews) candidates(st *store.State) []reservation.Host {
	hosts := st.Hosts()
	out := make([]reservation.Host, len(hosts))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, h := range hosts {
		v, ok := c.views[h.Id]
		if !ok || v.version != h.Version || h.Version == 0 {
			v = hostView{version: h.Version, host: reservationHost(h)}
			c.views[h.Id] = v
		}
		out[i] = v.host
	}
	if len(c.views) > 2*len(hosts)+64 { // deleted hosts: start over
		c.views = map[string]hostView{}
	}
	return out
}

// reservationHost is what a filter and the host choice read of a host: the
// computehost columns as text (status and trust_id are NULL in keel),
// the extra capabilities, and the reservable flag.
func reservationHost(h *storepb.Host) reservation.Host {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return reservation.Host{
		ID: h.Id,
		Columns: map[string]string{
			"id": h.Id, "vcpus": i(h.Vcpus), "cpu_info": h.CpuInfo, "hypervisor_type": h.HypervisorType,
			"hypervisor_version": i(h.HypervisorVersion), "hypervisor_hostname": h.HypervisorHostname,
			"service_name": h.ServiceName, "memory_mb": i(h.MemoryMb), "local_gb": i(h.LocalGb),
			"availability_zone": h.AvailabilityZone,
			"created_at":        reservation.FormatTimestamp(time.UnixMicro(h.CreatedAtUs)),
			"updated_at":        reservation.FormatTimestamp(time.UnixMicro(h.UpdatedAtUs)),
		},
		Capabilities: h.ExtraCapabilities,
		Reservable:   h.Reservable,
	}
}

// knownCapabilities is the map reservation.CheckCapabilities reads for the
// keys of rs: an extra capability name is known once any host has had it
// (Blazar never forgets a resource property).
func knownCapabilities(st *store.State, rs reservation.Requirements) map[string]bool {
	known := map[string]bool{}
	for _, r := range rs {
		if !reservation.IsHostColumn(r.Key) {
			known[r.Key] = st.ResourceProperty(r.Key) != nil || st.CapabilityExists(r.Key)
		}
	}
	return known
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
