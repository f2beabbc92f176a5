package chaostest

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"keel/cluster/systemtest"
)

// tree is one load balancer with a listener and a pool whose members come and go.
type tree struct {
	lb, listener object
	pool         string
}

// universe is every object the workload knows, shared by its clients.
type universe struct {
	mu    sync.Mutex
	trees []*tree
	// live objects may be written and deleted; all (live or deleted) are read.
	live    []object
	all     []object
	deleted map[string]bool
	// attempted deletes (ok or unknown): their objects may be gone at the end.
	deleteTried map[string]bool
	// created with a 201: must exist at the end unless a delete was tried.
	acked []object
	// deleted with a 204: must be gone at the end.
	ackedDeletes []object
	port         atomic.Int64 // unique member ports
	// hot is the object written last: half the reads go to it, so reads race the
	// writes they might see (a stale read needs a read right after a commit).
	hot atomic.Pointer[object]
}

func newUniverse() *universe {
	u := &universe{deleted: map[string]bool{}, deleteTried: map[string]bool{}}
	u.port.Store(1000)
	return u
}

func (u *universe) add(o object) {
	u.mu.Lock()
	u.live = append(u.live, o)
	u.all = append(u.all, o)
	u.acked = append(u.acked, o)
	u.mu.Unlock()
}

// addProbe records a probe's load balancer: read and checked at the end like
// every acknowledged create, but never written by the clients, so the probes do
// not change the workload's mix.
func (u *universe) addProbe(o object) {
	u.mu.Lock()
	u.all = append(u.all, o)
	u.acked = append(u.acked, o)
	u.mu.Unlock()
}

// pick returns a random live object of kind ("" any), or false.
func (u *universe) pick(rng *rand.Rand, kind string) (object, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var cands []object
	for _, o := range u.live {
		if kind == "" || o.Kind == kind {
			cands = append(cands, o)
		}
	}
	if len(cands) == 0 {
		return object{}, false
	}
	return cands[rng.Intn(len(cands))], true
}

// pickAny returns a random known object, deleted ones included.
func (u *universe) pickAny(rng *rand.Rand) object {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.all[rng.Intn(len(u.all))]
}

// retire takes o out of the live set: a delete was sent (ok: ackedDelete).
func (u *universe) retire(o object, outcome string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, l := range u.live {
		if l.ID == o.ID {
			u.live = append(u.live[:i], u.live[i+1:]...)
			break
		}
	}
	u.deleteTried[o.ID] = true
	if outcome == OK {
		u.ackedDeletes = append(u.ackedDeletes, o)
	}
}

func (u *universe) snapshot() (all, acked, ackedDeletes []object, deleteTried map[string]bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	dt := map[string]bool{}
	for k, v := range u.deleteTried {
		dt[k] = v
	}
	return append([]object(nil), u.all...), append([]object(nil), u.acked...), append([]object(nil), u.ackedDeletes...), dt
}

func (u *universe) pools() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, t := range u.trees {
		out = append(out, t.pool)
	}
	return out
}

// setup creates trees load balancers, each with a listener, a pool and two
// members, through node n, waiting for each step to be ACTIVE. The creates are
// part of the history (client -1).
func setup(ctx context.Context, a *api, u *universe, nodes []*systemtest.Node, trees int) error {
	errs := make(chan error, trees)
	var wg sync.WaitGroup
	for i := 0; i < trees; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- setupTree(ctx, a, u, nodes[i%len(nodes)], i)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func setupTree(ctx context.Context, a *api, u *universe, n *systemtest.Node, i int) error {
	const client = 0
	create := func(kind, path string, body map[string]any, pool string) (object, error) {
		name := fmt.Sprintf("setup-%s-%d", kind, i)
		if kind == "member" {
			name += fmt.Sprintf("-%d", u.port.Load())
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, id := a.create(client, n, kind, path, name, body)
			if id != "" {
				o := object{Kind: kind, ID: id, Pool: pool}
				u.add(o)
				return o, waitActive(ctx, a, n, o)
			}
			if r.Outcome == Unknown || time.Now().After(deadline) {
				return object{}, fmt.Errorf("setup: create %s on %s: HTTP %d %s", kind, n.Name, r.Status, r.Err)
			}
			time.Sleep(100 * time.Millisecond) // 409: the tree is still PENDING
		}
	}
	lb, err := create("loadbalancer", "/v2/lbaas/loadbalancers", lbBody(), "")
	if err != nil {
		return err
	}
	l, err := create("listener", "/v2/lbaas/listeners", listenerBody(lb.ID, 80), "")
	if err != nil {
		return err
	}
	// The pool is not a register in the model (the workload does not rename it).
	var poolID string
	deadline := time.Now().Add(20 * time.Second)
	for poolID == "" {
		status, body, err := a.do(n, "POST", "/v2/lbaas/pools", map[string]any{"pool": poolBody(l.ID)})
		if status == 201 {
			poolID = idOf(body, "pool")
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("setup: create pool: HTTP %d %v %s", status, err, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := waitActive(ctx, a, n, object{Kind: "pool", ID: poolID}); err != nil {
		return err
	}
	for m := 0; m < 2; m++ {
		if _, err := create("member", "/v2/lbaas/pools/"+poolID+"/members", memberBody(int(u.port.Add(1))), poolID); err != nil {
			return err
		}
	}
	u.mu.Lock()
	u.trees = append(u.trees, &tree{lb: lb, listener: l, pool: poolID})
	u.mu.Unlock()
	return nil
}

func waitActive(ctx context.Context, a *api, n *systemtest.Node, o object) error {
	path := o.path()
	if o.Kind == "pool" {
		path = "/v2/lbaas/pools/" + o.ID
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body, _ := a.do(n, "GET", path, nil)
		if status == 200 && statusOf(body, o.Kind) == "ACTIVE" {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("setup: %s %s not ACTIVE within 20s (HTTP %d %s)", o.Kind, o.ID, status, truncate(body, 200))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clientLoop runs one client until ctx ends: round-robin over the nodes, a mix of
// reads, renames, member creates and deletes, load balancer creates and deletes.
func clientLoop(ctx context.Context, a *api, u *universe, nodes []*systemtest.Node, c int, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	for seq := 0; ctx.Err() == nil; seq++ {
		n := nodes[(c+seq)%len(nodes)]
		value := fmt.Sprintf("c%d-%d", c, seq)
		var r Record
		switch p := rng.Intn(100); {
		case p < 40:
			o := u.pickAny(rng)
			if h := u.hot.Load(); h != nil && rng.Intn(2) == 0 {
				o = *h
			}
			r = a.read(c, n, o)
		case p < 75:
			o, ok := u.pick(rng, "")
			if !ok {
				continue
			}
			u.hot.Store(&o)
			r = a.write(c, n, o, value)
		case p < 85:
			pools := u.pools()
			pool := pools[rng.Intn(len(pools))]
			var id string
			r, id = a.create(c, n, "member", "/v2/lbaas/pools/"+pool+"/members", value, memberBody(int(u.port.Add(1))))
			if id != "" {
				u.add(object{Kind: "member", ID: id, Pool: pool})
			}
		case p < 93:
			o, ok := u.pick(rng, "member")
			if !ok {
				continue
			}
			r = a.remove(c, n, o)
			if r.Outcome != Failed {
				u.retire(o, r.Outcome)
			}
		case p < 97:
			var id string
			r, id = a.create(c, n, "loadbalancer", "/v2/lbaas/loadbalancers", value, lbBody())
			if id != "" {
				u.add(object{Kind: "loadbalancer", ID: id})
			}
		default:
			// Only bare load balancers (created during the run) are deleted.
			o, ok := u.pickBare(rng)
			if !ok {
				continue
			}
			r = a.remove(c, n, o)
			if r.Outcome != Failed {
				u.retire(o, r.Outcome)
			}
		}
		switch r.Outcome {
		case Failed:
			time.Sleep(5 * time.Millisecond)
		case Unknown:
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// pickBare returns a live load balancer that is not the root of a tree.
func (u *universe) pickBare(rng *rand.Rand) (object, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	roots := map[string]bool{}
	for _, t := range u.trees {
		roots[t.lb.ID] = true
	}
	var cands []object
	for _, o := range u.live {
		if o.Kind == "loadbalancer" && !roots[o.ID] {
			cands = append(cands, o)
		}
	}
	if len(cands) == 0 {
		return object{}, false
	}
	return cands[rng.Intn(len(cands))], true
}

// probeInterval is the open-loop probe's rate: one create every 100 ms.
const probeInterval = 100 * time.Millisecond

// probeClient is the probe's client number in the history.
func probeClient(cfg Config) int { return cfg.Clients + cfg.Nodes + 1 }

// probeLoop measures the cluster's availability, not the clients': every
// probeInterval it creates a load balancer through the next node, without
// waiting for earlier probes (open loop). A closed-loop client that sent a
// request to a paused or cut-off node waits out its timeout, and soon all of
// them do, so the clients' gaps mostly measure the HTTP timeout; the probe's
// gaps measure how long the cluster accepted no new write at all. Each create
// is a new grain, placed anywhere, so a node that still owns placements after a
// fault shows too. The probes are in the history, checked like every write.
func probeLoop(ctx context.Context, a *api, u *universe, nodes []*systemtest.Node, client int) {
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := nodes[i%len(nodes)]
		inflight.Add(1)
		go func(i int) {
			defer inflight.Done()
			_, id := a.create(client, n, "loadbalancer", "/v2/lbaas/loadbalancers", fmt.Sprintf("probe-%d", i), lbBody())
			if id != "" {
				u.addProbe(object{Kind: "loadbalancer", ID: id})
			}
		}(i)
	}
}

// probesOf is the probe's part of a history.
func probesOf(recs []Record, client int) []Record {
	var out []Record
	for _, r := range recs {
		if r.Client == client {
			out = append(out, r)
		}
	}
	return out
}
