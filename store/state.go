package store

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"

	"keel/store/storepb"
)

// StateStore holds the FSM's tables in go-memdb. Reads take an MVCC snapshot (a
// read transaction) and never block writes; only the FSM writes. It also publishes
// the index of the last Raft entry the FSM applied, which linearizable reads wait on.
type StateStore struct {
	db atomic.Pointer[memdb.MemDB]

	applied atomic.Uint64
	mu      sync.Mutex
	advance chan struct{} // closed and replaced each time applied moves
}

// NewStateStore returns an empty state store.
func NewStateStore() *StateStore {
	s := &StateStore{advance: make(chan struct{})}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		panic(err) // the schema is static; an error is a programming error
	}
	s.db.Store(db)
	return s
}

// ReadTxn returns a read-only snapshot of every table.
func (s *StateStore) ReadTxn() *memdb.Txn { return s.db.Load().Txn(false) }

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

// LoadBalancer returns the load balancer with id, or nil.
func (s *StateStore) LoadBalancer(id string) *storepb.LoadBalancer {
	return getLoadBalancer(s.ReadTxn(), id)
}

func getLoadBalancer(txn *memdb.Txn, id string) *storepb.LoadBalancer {
	raw, err := txn.First(TableLoadBalancers, IndexID, id)
	if err != nil || raw == nil {
		return nil
	}
	return raw.(*storepb.LoadBalancer)
}

// LoadBalancersByProvisioningStatus returns the load balancers in one provisioning
// status (the reconciler's index scan for PENDING_* entities).
func (s *StateStore) LoadBalancersByProvisioningStatus(status string) []*storepb.LoadBalancer {
	it, err := s.ReadTxn().Get(TableLoadBalancers, IndexProvisioningStatus, status)
	if err != nil {
		return nil
	}
	var out []*storepb.LoadBalancer
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*storepb.LoadBalancer))
	}
	return out
}

// CountLoadBalancers returns how many load balancers are stored.
func (s *StateStore) CountLoadBalancers() int {
	it, err := s.ReadTxn().Get(TableLoadBalancers, IndexID)
	if err != nil {
		return 0
	}
	n := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		n++
	}
	return n
}
