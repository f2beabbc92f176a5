package actors

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"keel/actors/instancepb"
	"keel/actors/reservation"
	"keel/store/storepb"
)

// InstanceSupervisor runs on the Raft leader (Store.LeaderReady, as the
// Reconciler) and keeps bare-metal instances moving when no request does:
//
//   - every Interval, each instance whose status is unfinished (building,
//     deleting, a power transition) and untouched for Grace is sent Resume:
//     protoactor re-activates a grain only when called, so a build whose node
//     was killed would otherwise stay building; the grain continues from the
//     stored status (a needless Resume does nothing: the grain's BMC call in
//     flight, or compare-and-set, makes it harmless);
//   - in the same pass, each instance of a reservation whose lease has ended
//     (TERMINATED, or gone) and that is not deleting yet is sent
//     EndReservation: the store-side catch-up of the lease hook
//     (InstanceLeaseHook), whose notification is lost if a node dies between
//     the lease's commit and the call;
//   - in the same pass, each instance (not deleting) on a host that an ACTIVE
//     lease holds for another reservation is sent Preempt: the catch-up of the
//     lease hook's start_lease;
//   - every PowerSyncInterval, each settled instance on a host (active,
//     stopped) is sent SyncPower: a host powered off (or on) at its BMC behind
//     keel's back is noticed.
//
// At most Concurrency grain calls run at a time.
type InstanceSupervisor struct {
	Store  Store
	Client *Client
	Logger *slog.Logger
	// Interval between resume passes (default 2 s).
	Interval time.Duration
	// Grace: an unfinished instance updated more recently is left to its grain
	// (default 10 s: longer than a BMC call normally takes).
	Grace time.Duration
	// PowerSyncInterval between power syncs (default DefaultSettings').
	PowerSyncInterval time.Duration
	// Concurrency bounds the grain calls in flight (default 16).
	Concurrency int

	stop chan struct{}
	wg   sync.WaitGroup
}

// unfinishedStatuses are the statuses a grain still has work in.
var unfinishedStatuses = []string{storepb.InstanceBuilding, storepb.InstanceDeleting,
	storepb.InstancePoweringOn, storepb.InstancePoweringOff, storepb.InstanceSoftPoweringOff,
	storepb.InstanceRebooting, storepb.InstanceSoftRebooting}

// Start begins the loops.
func (s *InstanceSupervisor) Start() {
	if s.Interval <= 0 {
		s.Interval = 2 * time.Second
	}
	if s.Grace <= 0 {
		s.Grace = 10 * time.Second
	}
	if s.PowerSyncInterval <= 0 {
		s.PowerSyncInterval = DefaultSettings.PowerSyncInterval
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 16
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.stop = make(chan struct{})
	s.wg.Add(2)
	go s.every(s.Interval, s.resumePass)
	go s.every(s.PowerSyncInterval, s.syncPass)
}

// Stop ends the loops and waits for the calls in flight.
func (s *InstanceSupervisor) Stop() {
	close(s.stop)
	s.wg.Wait()
}

func (s *InstanceSupervisor) every(d time.Duration, pass func()) {
	defer s.wg.Done()
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if s.Store.LeaderReady() {
			pass()
		}
	}
}

// resumePass resumes stale unfinished instances and ends the instances of
// ended reservations.
func (s *InstanceSupervisor) resumePass() {
	st := s.Store.State().Current()
	cutoff := time.Now().Add(-s.Grace).UnixMicro()
	var resume, end, preempt []string
	for _, status := range unfinishedStatuses {
		for _, x := range st.InstancesInStatus(status) {
			if x.UpdatedAtUs < cutoff {
				resume = append(resume, x.Uuid)
			}
		}
	}
	for _, x := range st.Instances() {
		if x.Status == storepb.InstanceDeleting || x.Status == storepb.InstanceDeleted {
			continue
		}
		if x.Status == storepb.InstanceError && strings.HasPrefix(x.StatusReason, powerOffFailed) {
			continue // its BMC refused the power off: not retried every pass (a delete retries it)
		}
		if x.ReservationId != "" {
			if l := st.LeaseOfReservation(x.ReservationId); l == nil || l.Status == reservation.LeaseTerminated {
				end = append(end, x.Uuid)
				continue
			}
		}
		if x.HostId != "" {
			if a, _ := st.ActiveReservationAgainst(x.HostId, x.ReservationId); a != nil {
				preempt = append(preempt, x.Uuid)
			}
		}
	}
	s.each(resume, func(ctx context.Context, id string) error {
		_, err := CallInstance(ctx, s.Client, id, (*instancepb.InstanceGrainClient).Resume, &instancepb.ResumeRequest{})
		return err
	}, "resume")
	s.each(end, func(ctx context.Context, id string) error {
		_, err := CallInstance(ctx, s.Client, id, (*instancepb.InstanceGrainClient).EndReservation,
			&instancepb.EndReservationRequest{})
		return err
	}, "end reservation")
	s.each(preempt, func(ctx context.Context, id string) error {
		_, err := CallInstance(ctx, s.Client, id, (*instancepb.InstanceGrainClient).Preempt, &instancepb.PreemptRequest{})
		return err
	}, "preempt")
}

// syncPass asks every settled instance on a host to read its BMC.
func (s *InstanceSupervisor) syncPass() {
	st := s.Store.State().Current()
	var ids []string
	for _, status := range []string{storepb.InstanceActive, storepb.InstanceStopped} {
		for _, x := range st.InstancesInStatus(status) {
			if x.HostId != "" {
				ids = append(ids, x.Uuid)
			}
		}
	}
	s.each(ids, func(ctx context.Context, id string) error {
		_, err := CallInstance(ctx, s.Client, id, (*instancepb.InstanceGrainClient).SyncPower, &instancepb.SyncPowerRequest{})
		return err
	}, "power sync")
}

func (s *InstanceSupervisor) each(ids []string, do func(ctx context.Context, id string) error, what string) {
	sem := make(chan struct{}, s.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, id := range ids {
		select {
		case <-s.stop:
			return
		case sem <- struct{}{}:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := do(ctx, id); err != nil {
				s.Logger.Warn("instance supervision call failed", "call", what, "instance", id, "err", err)
			}
		}()
	}
}

// InstanceLeaseHook is the lease notifier keeld installs: it passes every
// notification to Next (the log line stays), and
//
//   - at lease.event.start_lease sends Preempt to every instance on the
//     lease's hosts that is not of the reservation the host is allocated to
//     (Blazar's on_start preemptible cleanup: an ordinary instance that took
//     a host while the lease was PENDING is deleted, which powers the host
//     off; the host is then the reservation's alone, as the FSM keeps every
//     other claim off an ACTIVE lease's hosts);
//   - at lease.event.end_lease sends EndReservation to every instance of the
//     lease's reservations (Blazar's on_end: the instances are deleted, which
//     powers their hosts off);
//   - at lease.delete, EndReservation to every instance whose reservation's
//     lease is gone (deleting a lease ends it in Blazar too).
//
// It acts in a goroutine: NotifyLease runs in the lease grain. A lost
// notification is caught up by InstanceSupervisor's pass. before_end_lease
// does nothing.
type InstanceLeaseHook struct {
	Next   LeaseNotifier
	Store  Store
	Logger *slog.Logger
	client atomic.Pointer[Client]
}

// SetClient gives the hook the grain client once the cluster is up
// (notifications before it are only passed on; the supervisor catches up).
func (h *InstanceLeaseHook) SetClient(c *Client) { h.client.Store(c) }

// NotifyLease implements LeaseNotifier.
func (h *InstanceLeaseHook) NotifyLease(event string, p LeaseNotification) {
	if h.Next != nil {
		h.Next.NotifyLease(event, p)
	}
	if event != NotifyStartLease && event != NotifyEndLease && event != NotifyLeaseDelete {
		return
	}
	c := h.client.Load()
	if c == nil || h.Store == nil {
		return
	}
	st := h.Store.State().Current()
	var ids []string
	switch event {
	case NotifyStartLease:
		for _, a := range st.AllocationsOfLease(p.LeaseID) {
			if x := st.InstanceOnHost(a.HostId); x != nil && x.ReservationId != a.ReservationId &&
				x.Status != storepb.InstanceDeleting && !slices.Contains(ids, x.Uuid) {
				ids = append(ids, x.Uuid)
			}
		}
		h.call(c, ids, p.LeaseID, "start_lease: instance not preempted; the supervisor retries",
			func(ctx context.Context, id string) error {
				_, err := CallInstance(ctx, c, id, (*instancepb.InstanceGrainClient).Preempt, &instancepb.PreemptRequest{LeaseId: p.LeaseID})
				return err
			})
		return
	case NotifyEndLease:
		l := st.Lease(p.LeaseID)
		if l == nil {
			return
		}
		for _, r := range l.Reservations {
			for _, x := range st.InstancesOfReservation(r.Id) {
				ids = append(ids, x.Uuid)
			}
		}
	default:
		// The lease's row is gone: its instances are those whose reservation
		// no longer has a lease.
		for _, x := range st.Instances() {
			if x.ReservationId != "" && x.Status != storepb.InstanceDeleting && st.LeaseOfReservation(x.ReservationId) == nil {
				ids = append(ids, x.Uuid)
			}
		}
	}
	h.call(c, ids, p.LeaseID, "end_lease: instance not ended; the supervisor retries",
		func(ctx context.Context, id string) error {
			_, err := CallInstance(ctx, c, id, (*instancepb.InstanceGrainClient).EndReservation, &instancepb.EndReservationRequest{})
			return err
		})
}

// call makes do for every id, each in a goroutine, and logs failed as a
// warning for those that fail.
func (h *InstanceLeaseHook) call(c *Client, ids []string, leaseID, failed string, do func(ctx context.Context, id string) error) {
	logger := h.Logger
	if logger == nil {
		logger = slog.Default()
	}
	for _, id := range ids {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := do(ctx, id); err != nil {
				logger.Warn(failed, "lease", leaseID, "instance", id, "err", err)
			}
		}()
	}
}
