package store

import (
	"context"
	"sync"
	"sync/atomic"

	"keel/store/storepb"
)

// State is every table at one version. A published State is immutable: read it
// freely, from any goroutine, for as long as needed.
type State struct {
	LoadBalancers *Table[*storepb.LoadBalancer]
}

// Index names. IndexID (the primary key) answers id filters in every table.
const (
	IndexID                 = "id"
	IndexName               = "name"
	IndexProvisioningStatus = "provisioning_status" // partial: PENDING_* only
)

var loadBalancerSchema = &Schema[*storepb.LoadBalancer]{
	Name: "loadbalancers",
	Pivot: func(project string, created int64, id string) *storepb.LoadBalancer {
		return &storepb.LoadBalancer{ProjectId: project, CreatedAt: created, Id: id}
	},
	Exact: map[string]ExactIndex[*storepb.LoadBalancer]{
		IndexName: {
			Field: (*storepb.LoadBalancer).GetName,
			Pivot: func(v string) *storepb.LoadBalancer { return &storepb.LoadBalancer{Name: v} },
		},
		IndexProvisioningStatus: {
			Field:   (*storepb.LoadBalancer).GetProvisioningStatus,
			Pivot:   func(v string) *storepb.LoadBalancer { return &storepb.LoadBalancer{ProvisioningStatus: v} },
			Include: func(lb *storepb.LoadBalancer) bool { return isPending(lb.ProvisioningStatus) },
			Covers:  isPending,
		},
	},
}

func isPending(status string) bool { return len(status) > 8 && status[:8] == "PENDING_" }

func newState() *State {
	return &State{LoadBalancers: NewTable(loadBalancerSchema)}
}

func (s *State) clone() *State {
	return &State{LoadBalancers: s.LoadBalancers.Clone()}
}

// LoadBalancer returns the load balancer with id, or nil.
func (s *State) LoadBalancer(id string) *storepb.LoadBalancer {
	lb, _ := s.LoadBalancers.Get(id)
	return lb
}

// StateStore publishes the FSM's tables to readers and the index of the last Raft
// entry the FSM applied, which linearizable reads wait on.
type StateStore struct {
	current atomic.Pointer[State]

	applied atomic.Uint64
	mu      sync.Mutex
	advance chan struct{} // closed and replaced each time applied moves
}

// NewStateStore returns a store with empty tables.
func NewStateStore() *StateStore {
	s := &StateStore{advance: make(chan struct{})}
	s.current.Store(newState())
	return s
}

// Snapshot returns the latest published tables.
func (s *StateStore) Snapshot() *State { return s.current.Load() }

func (s *StateStore) publish(st *State) { s.current.Store(st) }

// AppliedIndex is the index of the last Raft entry applied to these tables.
func (s *StateStore) AppliedIndex() uint64 { return s.applied.Load() }

func (s *StateStore) setApplied(idx uint64) {
	s.applied.Store(idx)
	s.mu.Lock()
	close(s.advance)
	s.advance = make(chan struct{})
	s.mu.Unlock()
}

// WaitApplied blocks until the tables reflect Raft index idx or ctx ends.
func (s *StateStore) WaitApplied(ctx context.Context, idx uint64) error {
	for {
		s.mu.Lock()
		ch := s.advance
		s.mu.Unlock()
		if s.applied.Load() >= idx {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// LoadBalancer returns the load balancer with id from the latest tables, or nil.
func (s *StateStore) LoadBalancer(id string) *storepb.LoadBalancer {
	return s.Snapshot().LoadBalancer(id)
}

// PendingLoadBalancers returns the load balancers in a PENDING_* provisioning
// status (the reconciler's scan, served by a partial index).
func (s *StateStore) PendingLoadBalancers() []*storepb.LoadBalancer {
	var out []*storepb.LoadBalancer
	t := s.Snapshot().LoadBalancers
	for _, status := range []string{"PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE"} {
		t.Equal(IndexProvisioningStatus, status, func(lb *storepb.LoadBalancer) bool {
			out = append(out, lb)
			return true
		})
	}
	return out
}

// CountLoadBalancers returns how many load balancers are stored.
func (s *StateStore) CountLoadBalancers() int { return s.Snapshot().LoadBalancers.Len() }
