package http

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/store"
	"keel/store/storepb"
)

// statusRoutes registers a load balancer's status tree and statistics.
func (s *Server) statusRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/loadbalancers/{id}/status", s.wrap(s.loadBalancerStatus))
	r.GET(prefix+"/loadbalancers/{id}/statuses", s.wrap(s.loadBalancerStatus))
	r.GET(prefix+"/loadbalancers/{id}/stats", s.wrap(s.loadBalancerStats))
}

// loadBalancerInPath reads the load balancer of the path after a barrier: 404 when
// it does not exist, 403 when the policy's rule does not allow the caller on its
// project.
func (s *Server) loadBalancerInPath(ctx *fasthttp.RequestCtx, rule string) (*store.State, *storepb.LoadBalancer, error) {
	if err := s.barrier(); err != nil {
		return nil, nil, err
	}
	st := s.store.State().Current()
	id := pathParam(ctx, "id")
	lb := st.LoadBalancer(id)
	if lb == nil {
		return nil, nil, notFound("Load Balancer %s not found.", id)
	}
	if err := authorize(ctx, rule, lb.ProjectId); err != nil {
		return nil, nil, err
	}
	return st, lb, nil
}

// loadBalancerStatus answers GET /loadbalancers/{id}/status: the tree of statuses
// in Octavia's shape. Each listener shows the pools it uses (its default pool,
// then the redirect pools of its enabled policies that have rules); a pool shows
// its health monitor (key "health_monitor", absent when none) and members.
func (s *Server) loadBalancerStatus(ctx *fasthttp.RequestCtx) error {
	st, lb, err := s.loadBalancerInPath(ctx, rbacLoadBalancer+actGetStatus)
	if err != nil {
		return err
	}
	b := append([]byte(nil), `{"statuses":{"loadbalancer":`...)
	o := openObject(b)
	o.str("id", lb.Id)
	o.str("name", lb.Name)
	o.str("operating_status", lb.OperatingStatus)
	o.str("provisioning_status", lb.ProvisioningStatus)
	o.key("listeners")
	o.b = append(o.b, '[')
	for i, l := range store.InCreationOrder(store.Collect(st.Listeners, store.IndexLoadBalancer, lb.Id)) {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendListenerStatus(o.b, st, l)
	}
	o.b = append(o.b, ']')
	b = append(o.close(), "}}"...)
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(b)
	return nil
}

func appendListenerStatus(b []byte, st *store.State, l *storepb.Listener) []byte {
	o := openObject(b)
	o.str("id", l.Id)
	o.str("name", l.Name)
	o.str("operating_status", l.OperatingStatus)
	o.str("provisioning_status", l.ProvisioningStatus)
	o.key("pools")
	o.b = append(o.b, '[')
	for i, p := range store.PoolsOfListener(st, l) {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendPoolStatus(o.b, st, p)
	}
	o.b = append(o.b, ']')
	return o.close()
}

func appendPoolStatus(b []byte, st *store.State, p *storepb.Pool) []byte {
	o := openObject(b)
	o.str("id", p.Id)
	o.str("name", p.Name)
	o.str("provisioning_status", p.ProvisioningStatus)
	o.str("operating_status", p.OperatingStatus)
	if hm := st.MonitorOfPool(p.Id); hm != nil {
		o.key("health_monitor")
		h := openObject(o.b)
		h.str("id", hm.Id)
		h.str("name", hm.Name)
		h.str("type", hm.Type)
		h.str("provisioning_status", hm.ProvisioningStatus)
		h.str("operating_status", hm.OperatingStatus)
		o.b = h.close()
	}
	o.key("members")
	o.b = append(o.b, '[')
	for i, m := range st.MembersOfPool(p.Id) {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		mo := openObject(o.b)
		mo.str("id", m.Id)
		mo.str("name", m.Name)
		mo.str("operating_status", m.OperatingStatus)
		mo.str("provisioning_status", m.ProvisioningStatus)
		mo.str("address", m.Address)
		mo.integer("protocol_port", int64(m.ProtocolPort))
		o.b = mo.close()
	}
	o.b = append(o.b, ']')
	return o.close()
}

// loadBalancerStats answers GET /loadbalancers/{id}/stats: its listeners' traffic,
// summed.
func (s *Server) loadBalancerStats(ctx *fasthttp.RequestCtx) error {
	st, lb, err := s.loadBalancerInPath(ctx, rbacLoadBalancer+actGetStats)
	if err != nil {
		return err
	}
	var total stats
	for _, l := range store.Collect(st.Listeners, store.IndexLoadBalancer, lb.Id) {
		total.add(listenerTraffic(st, l.Id))
	}
	writeStats(ctx, total)
	return nil
}
