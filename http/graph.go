package http

import (
	"cmp"
	"sort"

	"github.com/google/uuid"

	"keel/store"
	"keel/store/storepb"
)

// A single-call ("fully populated") load balancer create: the body's load balancer
// carries listeners (each with a default pool and L7 policies with rules) and pools
// (each with members and a health monitor). As Octavia's _graph_create, every pool
// must be named; a listener's default_pool or a policy's redirect_pool that gives
// only a name refers to the pool of that name defined elsewhere in the body. The
// whole tree is validated here and by the grain, then written in one command.

// graphPool is one pool of the body, fully defined or referenced by name.
type graphPool struct {
	pool     *storepb.Pool
	members  []*storepb.Member
	monitor  *storepb.HealthMonitor
	fullDef  bool
	nameOnly string
}

type graphReader struct {
	defined map[string]*graphPool // by name, full definitions
	order   []*graphPool          // full definitions in body order
	refs    []string              // names referenced
}

// readGraphPool decodes a pool object of the body: a reference ({"name": ...}) or
// a full definition with its members and health monitor. A default or redirect
// pool (mustName) has to be named so that it can be referenced.
func (g *graphReader) readGraphPool(pf *fieldReader, mustName bool) (*graphPool, error) {
	name := pf.peekStr("name")
	if mustName && name == "" {
		return nil, badRequest("Validation failure: Pools must be named when creating a fully populated loadbalancer.")
	}
	if _, named := pf.fields["name"]; named && len(pf.fields) == 1 {
		name, _ = pf.str("name", 255)
		if err := pf.finish(); err != nil {
			return nil, err
		}
		g.refs = append(g.refs, name)
		return &graphPool{nameOnly: name}, nil
	}
	for _, attr := range []string{"protocol", "lb_algorithm"} {
		if raw, ok := pf.fields[attr]; !ok || isNull(raw) {
			return nil, badRequest("Validation failure: Pool definition for '%s' missing required attribute: %s", cmp.Or(name, "None"), attr)
		}
	}
	v, given := readPoolCreate(pf)
	gp := &graphPool{pool: v, fullDef: true}
	if items, ok := pf.objectList("members"); ok {
		for _, mf := range items {
			m := readMemberCreate(mf)
			if err := mf.finish(); err != nil {
				return nil, err
			}
			if err := checkMemberAddress(m.Address); err != nil {
				return nil, err
			}
			gp.members = append(gp.members, m)
		}
	}
	if hf, ok := pf.object("healthmonitor"); ok && hf != nil {
		hm := readMonitorCreate(hf)
		if err := hf.finish(); err != nil {
			return nil, err
		}
		if err := checkMonitorCreate(hm); err != nil {
			return nil, err
		}
		gp.monitor = hm
	}
	if err := pf.finish(); err != nil {
		return nil, err
	}
	if err := checkPoolCreate(v, given); err != nil {
		return nil, err
	}
	if _, dup := g.defined[v.Name]; dup {
		return nil, badRequest("Validation failure: Pool names must be unique when creating a fully populated loadbalancer.")
	}
	g.defined[v.Name] = gp
	g.order = append(g.order, gp)
	return gp, nil
}

// graphListener is a listener of the body with its default pool and policies.
type graphListener struct {
	listener    *storepb.Listener
	defaultPool *graphPool
	policies    []graphPolicy
}

type graphPolicy struct {
	body         *policyBody
	rules        []*storepb.L7Rule
	redirectPool *graphPool
}

// readGraph decodes the listeners and pools of a single-call create (f is the
// load balancer object) into a tree with every id assigned and every reference
// resolved. It returns nil when the body has neither.
func readGraph(f *fieldReader, lb *storepb.LoadBalancer) (*storepb.Tree, error) {
	if !f.has("listeners") && !f.has("pools") {
		return nil, nil
	}
	g := &graphReader{defined: map[string]*graphPool{}}
	if items, ok := f.objectList("pools"); ok {
		for _, pf := range items {
			if _, err := g.readGraphPool(pf, false); err != nil {
				return nil, err
			}
		}
	}
	var listeners []*graphListener
	if items, ok := f.objectList("listeners"); ok {
		for _, lf := range items {
			gl := &graphListener{listener: readListenerCreate(lf)}
			if pf, ok := lf.object("default_pool"); ok && pf != nil {
				gp, err := g.readGraphPool(pf, true)
				if err != nil {
					return nil, err
				}
				gl.defaultPool = gp
			}
			if pols, ok := lf.objectList("l7policies"); ok {
				for _, pf := range pols {
					b, rules, err := readL7PolicyCreate(pf)
					if err != nil {
						return nil, err
					}
					gpol := graphPolicy{body: b, rules: rules}
					if rf, ok := pf.object("redirect_pool"); ok && rf != nil {
						gp, err := g.readGraphPool(rf, true)
						if err != nil {
							return nil, err
						}
						gpol.redirectPool = gp
						// A redirect pool implies the action, as a redirect_pool_id does.
						b.named["redirect_pool_id"] = true
						b.values.RedirectPoolId = "00000000-0000-0000-0000-000000000000" // resolved below
					}
					if err := pf.finish(); err != nil {
						return nil, err
					}
					if err := checkL7PolicyCreate(b, rules); err != nil {
						return nil, err
					}
					gl.policies = append(gl.policies, gpol)
				}
			}
			if err := lf.finish(); err != nil {
				return nil, err
			}
			if err := checkListenerCreate(gl.listener); err != nil {
				return nil, err
			}
			listeners = append(listeners, gl)
		}
	}
	for _, name := range g.refs {
		if _, ok := g.defined[name]; !ok {
			return nil, badRequest("Pool '%s' was referenced but no full definition was found.", name)
		}
	}
	return g.assemble(lb, listeners), nil
}

// assemble assigns ids and links parents to children.
func (g *graphReader) assemble(lb *storepb.LoadBalancer, listeners []*graphListener) *storepb.Tree {
	t := &storepb.Tree{LoadBalancer: lb}
	poolID := func(gp *graphPool) string {
		if gp == nil {
			return ""
		}
		if !gp.fullDef {
			gp = g.defined[gp.nameOnly]
		}
		return gp.pool.Id
	}
	for _, gp := range g.order {
		gp.pool.Id = uuid.NewString()
		t.Pools = append(t.Pools, gp.pool)
		for _, m := range gp.members {
			m.Id, m.PoolId = uuid.NewString(), gp.pool.Id
			t.Members = append(t.Members, m)
		}
		if gp.monitor != nil {
			gp.monitor.Id, gp.monitor.PoolId = uuid.NewString(), gp.pool.Id
			t.HealthMonitors = append(t.HealthMonitors, gp.monitor)
		}
	}
	for _, gl := range listeners {
		l := gl.listener
		l.Id = uuid.NewString()
		if id := poolID(gl.defaultPool); id != "" {
			l.DefaultPoolId = id
		}
		t.Listeners = append(t.Listeners, l)
		// Positions: explicit ones first in their order, then the rest as given,
		// numbered 1..N (a policy list is contiguous).
		sorted := append([]graphPolicy(nil), gl.policies...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].body.values.Position < sorted[j].body.values.Position })
		for i, gpol := range sorted {
			p := gpol.body.values
			p.Id, p.ListenerId, p.Position = uuid.NewString(), l.Id, int32(i+1)
			if gpol.redirectPool != nil && p.RedirectPoolId != "" { // the action kept it
				p.RedirectPoolId = poolID(gpol.redirectPool)
			}
			t.L7Policies = append(t.L7Policies, p)
			for _, r := range gpol.rules {
				r.Id, r.L7PolicyId, r.ListenerId = uuid.NewString(), p.Id, l.Id
				t.L7Rules = append(t.L7Rules, r)
			}
		}
	}
	return t
}

// writeGraph renders a single-call create's answer as Octavia does: the load
// balancer with its listeners expanded (each with its L7 policies and their rules,
// without "loadbalancers") and its pools expanded (each with its members and
// health monitor, without "loadbalancers" and "healthmonitor_id").
func writeGraph(b []byte, t *storepb.Tree, st *store.State) []byte {
	b = append(b, `{"loadbalancer":`...)
	b = loadBalancers.appendObject(b, t.LoadBalancer, allBut(loadBalancers.attrs, "listeners", "pools"), st)
	b = b[:len(b)-1] // reopen the object
	b = append(b, `,"listeners":[`...)
	for i, l := range t.Listeners {
		if i > 0 {
			b = append(b, ',')
		}
		b = listeners.appendObject(b, l, allBut(listeners.attrs, "loadbalancers", "l7policies"), st)
		b = b[:len(b)-1]
		b = append(b, `,"l7policies":[`...)
		for j, p := range st.PoliciesOfListener(l.Id) {
			if j > 0 {
				b = append(b, ',')
			}
			b = l7Policies.appendObject(b, p, allBut(l7Policies.attrs, "rules"), st)
			b = b[:len(b)-1]
			b = append(b, `,"rules":`...)
			b = appendObjects(b, l7Rules, st.RulesOfPolicy(p.Id), st)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"pools":[`...)
	for i, p := range t.Pools {
		if i > 0 {
			b = append(b, ',')
		}
		b = pools.appendObject(b, p, allBut(pools.attrs, "loadbalancers", "healthmonitor_id", "members"), st)
		b = b[:len(b)-1]
		b = append(b, `,"members":`...)
		b = appendObjects(b, members, st.MembersOfPool(p.Id), st)
		b = append(b, `,"healthmonitor":`...)
		if hm := st.MonitorOfPool(p.Id); hm == nil {
			b = append(b, "null"...)
		} else {
			b = healthMonitors.appendObject(b, hm, nil, st)
		}
		b = append(b, '}')
	}
	return append(b, "]}}"...)
}

// appendObjects renders rows as a JSON list of r's objects.
func appendObjects[T store.Entity](b []byte, r *resource[T], rows []T, st *store.State) []byte {
	b = append(b, '[')
	for i, x := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendObject(b, x, nil, st)
	}
	return append(b, ']')
}

// allBut selects every attribute of a resource except the named ones.
func allBut[T store.Entity](attrs []*attr[T], except ...string) map[string]bool {
	out := map[string]bool{}
	for _, a := range attrs {
		out[a.name] = true
	}
	for _, e := range except {
		delete(out, e)
	}
	return out
}
