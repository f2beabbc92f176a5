// Package actors owns behaviour: the grain kinds (virtual actors on the protoactor-go
// cluster), their protobuf contracts (actorspb), the client HTTP handlers use to call
// them, and the leader's reconciler that resumes flows interrupted by a dead node.
// A grain is the single writer of its entity: it checks state, proposes commands to
// the store with the version it read (compare-and-set), replies, then drives the
// entity's asynchronous life.
package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/extensions"

	"keel/actors/actorspb"
	"keel/actors/catalogpb"
	"keel/actors/instancepb"
	"keel/actors/leasepb"
	"keel/store"
	"keel/store/storepb"
)

// Settings tune grain behaviour.
type Settings struct {
	// ProvisionDelay is how long the provider step takes before a PENDING_* load
	// balancer becomes ACTIVE (or is removed), until real amphorae exist.
	ProvisionDelay time.Duration
	// IdleTimeout passivates a grain after this long without messages.
	IdleTimeout time.Duration
	// SettledIdleTimeout passivates a load balancer grain with nothing in
	// flight (its provider step done) after this long without messages; 0
	// uses IdleTimeout.
	SettledIdleTimeout time.Duration
	// PowerSyncInterval is how often the instance supervisor asks every
	// settled bare-metal instance to read its BMC (keeld's -power-sync-interval).
	PowerSyncInterval time.Duration
}

// DefaultSettings are used by keeld.
var DefaultSettings = Settings{ProvisionDelay: 100 * time.Millisecond, IdleTimeout: 10 * time.Second,
	SettledIdleTimeout: time.Second, PowerSyncInterval: 10 * time.Second}

// Store is what grains and the reconciler use of the replicated store: linearizable
// reads (Barrier, then State), writes (Propose), deciding an unknown outcome for
// good (Resolve), and whether leader-only work may run (LeaderReady). keeld passes
// its *store.Node; declaring the interface here, where it is used, lets tests run
// grains over a store that injects lost races, refusals and ambiguous outcomes.
type Store interface {
	Barrier(ctx context.Context) error
	State() *store.StateStore
	// Propose keeps no reference to cmd once it returns (it encodes it first).
	Propose(ctx context.Context, cmd *storepb.Command) (*storepb.CommandResult, error)
	// ProposeWithin is Propose bounded by a duration (a grain's step: see proposeStep).
	ProposeWithin(d time.Duration, cmd *storepb.Command) (*storepb.CommandResult, error)
	Resolve(ctx context.Context, reqID string, deadlineUnixMs int64) (*storepb.CommandResult, error)
	LeaderReady() bool
}

var _ Store = (*store.Node)(nil)

// Runtime is what grains need from their node, registered as an actor-system
// extension (grain factories are process globals in protoactor-go, so they must not
// capture node state).
type Runtime struct {
	Store    Store
	Settings Settings
	Logger   *slog.Logger
	Now      func() time.Time
	// Amphorae runs real amphorae; nil is the noop provider (records only).
	Amphorae *Amphorae
	// Leases tunes the lease grains (Blazar's manager options).
	Leases LeaseSettings
	// Notifier hears Blazar's lease notifications once their command has
	// committed; nil logs them (LogNotifier).
	Notifier LeaseNotifier
}

var runtimeExtensionID = extensions.NextExtensionID()

// ExtensionID implements extensions.Extension.
func (r *Runtime) ExtensionID() extensions.ExtensionID { return runtimeExtensionID }

func runtimeOf(system *actor.ActorSystem) *Runtime {
	return system.Extensions.Get(runtimeExtensionID).(*Runtime)
}

// Kinds registers rt with the actor system and returns the grain kinds keeld serves.
func Kinds(system *actor.ActorSystem, rt *Runtime) []*cluster.Kind {
	if rt.Now == nil {
		rt.Now = time.Now
	}
	if rt.Logger == nil {
		rt.Logger = slog.Default()
	}
	system.Extensions.Register(rt)
	if rt.Amphorae != nil {
		rt.Amphorae.defaults()
	}
	rt.Leases = rt.Leases.withDefaults()
	if rt.Notifier == nil {
		rt.Notifier = LogNotifier{Logger: rt.Logger}
	}
	// Timeout 0: protoactor's receive timeout races (docs/races.md R4); grains
	// passivate through passivateWhenIdle instead.
	return []*cluster.Kind{
		actorspb.NewLoadBalancerKind(func() actorspb.LoadBalancer { return &LoadBalancerGrain{} }, 0,
			countLifecycle(loadBalancerGrains), passivateWhenIdle(rt.Settings.IdleTimeout, rt.Settings.SettledIdleTimeout), onGrainDispatcher()),
		catalogpb.NewCatalogKind(func() catalogpb.Catalog { return &CatalogGrain{} }, 0,
			countLifecycle(catalogGrains), passivateWhenIdle(rt.Settings.IdleTimeout, 0), onGrainDispatcher()),
		leasepb.NewLeaseKind(func() leasepb.Lease { return &LeaseGrain{} }, 0,
			countLifecycle(leaseGrains), passivateWhenIdle(rt.Settings.IdleTimeout, 0), onGrainDispatcher()),
		leasepb.NewHostInventoryKind(func() leasepb.HostInventory { return &HostInventoryGrain{} }, 0,
			countLifecycle(hostInventoryGrains), passivateWhenIdle(rt.Settings.IdleTimeout, 0), onGrainDispatcher()),
		instancepb.NewInstanceKind(func() instancepb.Instance { return &InstanceGrain{} }, 0,
			countLifecycle(instanceGrains), passivateWhenIdle(rt.Settings.IdleTimeout, 0), onGrainDispatcher()),
		instancepb.NewInstanceTypeKind(func() instancepb.InstanceType { return &InstanceTypeGrain{} }, 0,
			countLifecycle(instanceTypeGrains), passivateWhenIdle(rt.Settings.IdleTimeout, 0), onGrainDispatcher()),
		// Amphora grains never passivate: they supervise while their amphora lives.
		actorspb.NewAmphoraKind(func() actorspb.Amphora { return &AmphoraGrain{} }, 0, countLifecycle(amphoraGrains), onGrainDispatcher()),
	}
}

// ErrorKind classifies a grain's refusal; the HTTP layer maps kinds to statuses.
type ErrorKind string

const (
	KindNotFound    ErrorKind = cluster.ErrorReason_NOT_FOUND
	KindConflict    ErrorKind = cluster.ErrorReason_FAILED_PRECONDITION
	KindInvalid     ErrorKind = cluster.ErrorReason_INVALID_ARGUMENT
	KindForbidden   ErrorKind = cluster.ErrorReason_PERMISSION_DENIED
	KindUnavailable ErrorKind = cluster.ErrorReason_UNAVAILABLE
	KindInternal    ErrorKind = cluster.ErrorReason_INTERNAL
	// KindUnimplemented is a provider refusal (Octavia's 501).
	KindUnimplemented ErrorKind = cluster.ErrorReason_UNIMPLEMENTED
	// KindNotApplied: the request was definitely not applied, and retrying it is
	// pointless (its deadline passed, or it was resolved as aborted). A 503 that
	// the client retries with a new request.
	KindNotApplied ErrorKind = cluster.ErrorReason_ABORTED
)

// Error is a grain's answer that is not a success. Message is the user-facing text
// (Octavia's faultstring).
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Kind, e.Message) }

// grainError builds the error a grain method returns.
func grainError(kind ErrorKind, format string, args ...interface{}) error {
	return cluster.NewGrainErrorResponsef(string(kind), format, args...)
}

// asError turns what a grain call returned into an *Error, or nil if the call did
// not reach a decision (transport failure, timeout): those are retried.
func asError(err error) *Error {
	var ge *cluster.GrainErrorResponse
	if !errors.As(err, &ge) {
		return nil
	}
	switch ErrorKind(ge.Reason) {
	case KindNotFound, KindConflict, KindInvalid, KindForbidden, KindInternal, KindUnimplemented, KindNotApplied:
		return &Error{Kind: ErrorKind(ge.Reason), Message: ge.Message}
	}
	return nil // UNAVAILABLE and unknown reasons: retry
}
