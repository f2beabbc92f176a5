package actors

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"keel/actors/actorspb"
)

// Client calls grains for the HTTP handlers and the reconciler. protoactor-go's own
// call timeout is soft (an activation on a just-died owner can stall for 5 s), so
// every attempt runs under a hard deadline of its own, and attempts that reach no
// decision are retried with the same request id until the call's deadline.
type Client struct {
	cluster        *cluster.Cluster
	attemptTimeout time.Duration
	callTimeout    time.Duration
}

// NewClient returns a grain client over c.
func NewClient(c *cluster.Cluster) *Client {
	return &Client{cluster: c, attemptTimeout: time.Second, callTimeout: 12 * time.Second}
}

type attemptResult[T any] struct {
	v   T
	err error
}

// call runs f until it returns a value or a grain's decision (*Error).
func call[T any](ctx context.Context, c *Client, f func(opts ...cluster.GrainCallOption) (T, error)) (T, error) {
	var zero T
	deadline := time.Now().Add(c.callTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var last error
	for attempt := 0; ; attempt++ {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return zero, &Error{Kind: KindUnavailable, Message: fmt.Sprintf("Service unavailable: %v", last)}
		}
		timeout := min(c.attemptTimeout, remaining)
		ch := make(chan attemptResult[T], 1)
		go func() {
			v, err := f(cluster.WithTimeout(timeout), cluster.WithRetryCount(3))
			ch <- attemptResult[T]{v, err}
		}()
		select {
		case r := <-ch:
			if r.err == nil {
				return r.v, nil
			}
			if e := asError(r.err); e != nil {
				return zero, e
			}
			last = r.err
		case <-time.After(timeout + 250*time.Millisecond):
			last = fmt.Errorf("grain call attempt timed out after %v", timeout)
		case <-ctx.Done():
			return zero, &Error{Kind: KindUnavailable, Message: "Service unavailable: request cancelled"}
		}
		select {
		case <-time.After(time.Duration(50+rand.IntN(100)) * time.Millisecond):
		case <-ctx.Done():
			return zero, &Error{Kind: KindUnavailable, Message: "Service unavailable: request cancelled"}
		}
	}
}

// LoadBalancerMethod is a method of the load balancer grain's generated client,
// as a method expression: (*actorspb.LoadBalancerGrainClient).CreateListener.
type LoadBalancerMethod[Req, Resp any] func(*actorspb.LoadBalancerGrainClient, Req, ...cluster.GrainCallOption) (Resp, error)

// CallLoadBalancer calls one method of load balancer lbID's grain with keel's
// per-attempt deadline and retries (requests carry their request id, so a retry
// is answered, not applied twice).
func CallLoadBalancer[Req, Resp any](ctx context.Context, c *Client, lbID string, method LoadBalancerMethod[Req, Resp], req Req) (Resp, error) {
	g := actorspb.GetLoadBalancerGrainClient(c.cluster, lbID)
	return call(ctx, c, func(opts ...cluster.GrainCallOption) (Resp, error) { return method(g, req, opts...) })
}

// ResumeLoadBalancer asks the grain of id to continue an unfinished flow.
func (c *Client) ResumeLoadBalancer(ctx context.Context, id string) error {
	_, err := CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).Resume, &actorspb.ResumeRequest{})
	return err
}
