package store

import (
	"encoding/binary"
	"fmt"

	"github.com/hashicorp/go-memdb"

	"keel/store/storepb"
)

// Table and index names of the state store.
const (
	TableLoadBalancers = "loadbalancers"

	IndexID                 = "id"
	IndexCreated            = "created"         // (created_at, id): default list order
	IndexProjectCreated     = "project_created" // (project_id, created_at, id): project-scoped lists
	IndexName               = "name"
	IndexProvisioningStatus = "provisioning_status"
)

// schema describes every table and its indexes. Indexers are typed (no reflection):
// they run on every write and every indexed read.
func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		TableLoadBalancers: {
			Name: TableLoadBalancers,
			Indexes: map[string]*memdb.IndexSchema{
				IndexID: {Name: IndexID, Unique: true,
					Indexer: stringIndexer[*storepb.LoadBalancer](func(lb *storepb.LoadBalancer) string { return lb.Id })},
				IndexCreated: {Name: IndexCreated, Unique: true,
					Indexer: createdIndexer[*storepb.LoadBalancer]{get: func(lb *storepb.LoadBalancer) (string, int64, string) { return "", lb.CreatedAt, lb.Id }}},
				IndexProjectCreated: {Name: IndexProjectCreated, Unique: true,
					Indexer: createdIndexer[*storepb.LoadBalancer]{scoped: true, get: func(lb *storepb.LoadBalancer) (string, int64, string) {
						return lb.ProjectId, lb.CreatedAt, lb.Id
					}}},
				IndexName: {Name: IndexName, AllowMissing: true,
					Indexer: stringIndexer[*storepb.LoadBalancer](func(lb *storepb.LoadBalancer) string { return lb.Name })},
				IndexProvisioningStatus: {Name: IndexProvisioningStatus,
					Indexer: stringIndexer[*storepb.LoadBalancer](func(lb *storepb.LoadBalancer) string { return lb.ProvisioningStatus })},
			},
		},
	}}
}

// stringIndexer indexes one string attribute; an empty value is not indexed.
type stringIndexer[T any] func(T) string

func (f stringIndexer[T]) FromObject(obj interface{}) (bool, []byte, error) {
	o, ok := obj.(T)
	if !ok {
		return false, nil, fmt.Errorf("store: indexer got %T", obj)
	}
	v := f(o)
	if v == "" {
		return false, nil, nil
	}
	return true, append([]byte(v), 0), nil
}

func (f stringIndexer[T]) FromArgs(args ...interface{}) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("store: one argument expected, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("store: string argument expected, got %T", args[0])
	}
	return append([]byte(s), 0), nil
}

// createdIndexer orders objects by (created_at, id), optionally scoped by a leading
// string (the project). Keys: [scope 0x00] created_at(8 bytes, big-endian, biased) id.
type createdIndexer[T any] struct {
	scoped bool
	get    func(T) (scope string, created int64, id string)
}

func (c createdIndexer[T]) key(scope string, created int64, id string) []byte {
	b := make([]byte, 0, len(scope)+1+8+len(id))
	if c.scoped {
		b = append(b, scope...)
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(created)^(1<<63))
	return append(b, id...)
}

func (c createdIndexer[T]) FromObject(obj interface{}) (bool, []byte, error) {
	o, ok := obj.(T)
	if !ok {
		return false, nil, fmt.Errorf("store: indexer got %T", obj)
	}
	scope, created, id := c.get(o)
	return true, c.key(scope, created, id), nil
}

// FromArgs takes (created, id) or, scoped, (scope, created, id); with scope alone it
// gives the scope prefix (for bounds).
func (c createdIndexer[T]) FromArgs(args ...interface{}) ([]byte, error) {
	if c.scoped {
		if len(args) == 0 {
			return nil, fmt.Errorf("store: scope argument expected")
		}
		scope, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("store: string scope expected, got %T", args[0])
		}
		if len(args) == 1 {
			return append([]byte(scope), 0), nil
		}
		created, id, err := createdArgs(args[1:])
		if err != nil {
			return nil, err
		}
		return c.key(scope, created, id), nil
	}
	created, id, err := createdArgs(args)
	if err != nil {
		return nil, err
	}
	return c.key("", created, id), nil
}

func createdArgs(args []interface{}) (int64, string, error) {
	if len(args) != 2 {
		return 0, "", fmt.Errorf("store: (created, id) expected, got %d args", len(args))
	}
	created, ok1 := args[0].(int64)
	id, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return 0, "", fmt.Errorf("store: (int64, string) expected, got (%T, %T)", args[0], args[1])
	}
	return created, id, nil
}
