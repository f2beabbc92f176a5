package http

import (
	"context"

	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/store"
)

// Writes on a load balancer's tree — its listeners, pools, members, health
// monitors, L7 policies and rules — take one path: decode the body, route, make
// one grain call, and render the object from the grain's reply (the object as
// written and its load balancer's tree after the write), as load balancers are
// rendered. Nothing is read after the write.
//
// Routing finds the load balancer whose grain serves the write, and with it the
// caller's right to it: Octavia looks an object up (404) before checking its
// project (403), and every check the API makes before the grain call comes after
// both. What routing reads never changes once written — an object's load balancer
// and project, a load balancer's VIP address, a monitor's type — so a row found
// in this node's tables is as good as one read after a barrier, and costs none.
// A check that combines a write with what an earlier write may change (a
// listener's options, a pool's CA / CRL, a monitor's domain name) is the grain's,
// made on the tree it writes, so two writes each valid against an older row
// cannot combine into an invalid one. A row not found
// here may be a write acknowledged through another node and not applied here yet,
// so a miss is only believed after a barrier; more generally, a refusal (ours or
// the grain's) is only answered from a fresh read, as the grain answers its own.

// writeTree makes one tree write: route finds, on the tables it is given, the
// load balancer whose grain serves the write and checks what the API checks
// before the call (see routeThenCall); then method is called on that grain with
// the request request builds. Its reply is the object written and the tree.
func writeTree[Req, Resp any](s *Server, route func(st *store.State) (lbID string, err error),
	method actors.LoadBalancerMethod[Req, Resp], request func() Req) (Resp, error) {
	var lbID string
	var reply Resp
	err := routeThenCall(s.store.State().Current, s.barrier, func(st *store.State) (err error) {
		lbID, err = route(st)
		return err
	}, func() (err error) {
		c := context.Background()
		reply, err = actors.CallLoadBalancer(c, s.grains, lbID, method, request())
		return err
	})
	return reply, err
}

// routeThenCall runs route on the tables, then call. route looks up and checks
// what the write needs and refuses what it must; it may run twice (on this node's
// tables, then after a barrier), so it must not change what it is given. A
// refusal made on local tables is made again on fresh ones: route's fresh
// refusal is the answer; if route now lets the write through, call is made
// (route refused) or its refusal stands (call refused). So every answer is the
// one a barrier taken first would have given, and a write that succeeds takes no
// barrier. That holds because route reads only what never changes once written,
// and every check against what may change is the grain's, on the tree it writes.
func routeThenCall(tables func() *store.State, barrier func() error,
	route func(st *store.State) error, call func() error) error {
	if err := route(tables()); err == nil {
		err := call()
		if !isRefusal(err) {
			return err
		}
		if barrier() != nil {
			return err // the grain's refusal is definite: not applied
		}
		if rerr := route(tables()); rerr != nil {
			return rerr
		}
		return err
	}
	if err := barrier(); err != nil {
		return err
	}
	if err := route(tables()); err != nil {
		return err
	}
	return call()
}

// isRefusal reports whether err is a 4xx answer (a grain's refusal: not applied).
func isRefusal(err error) bool {
	if err == nil {
		return false
	}
	status, _ := statusOf(err)
	return status >= 400 && status < 500
}

// childIn looks up the object id of a resource in st for a request: 404 if it is
// not there, 403 if the policy's rule does not allow the caller on its project.
func childIn[T store.Entity](ctx *fasthttp.RequestCtx, st *store.State, r *resource[T], id, rule string) (T, error) {
	var zero T
	v, found := r.table(st).Get(id)
	if !found {
		return zero, notFound("%s %s not found.", r.display, id)
	}
	if err := authorize(ctx, rule, v.GetProjectId()); err != nil {
		return zero, err
	}
	return v, nil
}
