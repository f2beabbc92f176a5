package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/cluster"

	"keel/actors/leasepb"
	"keel/store/storepb"
)

// LeaseMethod is a method of the lease grain's generated client, as a method
// expression: (*leasepb.LeaseGrainClient).Create.
type LeaseMethod[Req, Resp any] func(*leasepb.LeaseGrainClient, Req, ...cluster.GrainCallOption) (Resp, error)

// CallLease calls one method of lease leaseID's grain with keel's per-attempt
// deadline and retries (requests carry their request id, so a retry is
// answered, not applied twice). A refusal is an *Error whose Kind is the HTTP
// status class and whose Message is Blazar's text.
func CallLease[Req, Resp any](ctx context.Context, c *Client, leaseID string, method LeaseMethod[Req, Resp], req Req) (Resp, error) {
	g := leasepb.GetLeaseGrainClient(c.cluster, leaseID)
	return call(ctx, c, leaseGrains, func(attempt uint32, opts ...cluster.GrainCallOption) (Resp, error) {
		return method(g, numbered(req, attempt), opts...)
	})
}

// CallHostInventory makes one write to the host inventory grain and returns
// its reply (the host or property as stored; empty after a delete).
func CallHostInventory(ctx context.Context, c *Client, req *leasepb.HostWriteRequest) (*leasepb.HostWriteReply, error) {
	g := leasepb.GetHostInventoryGrainClient(c.cluster, HostInventoryIdentity(req))
	return call(ctx, c, hostInventoryGrains, func(attempt uint32, opts ...cluster.GrainCallOption) (*leasepb.HostWriteReply, error) {
		return g.Write(numbered(req, attempt), opts...)
	})
}

// FireLeaseEvent asks a lease's grain to run one of its events if it is due
// (the event scheduler's call); the lease as it is afterwards (nil: deleted).
func (c *Client) FireLeaseEvent(ctx context.Context, leaseID, eventID string) (*storepb.Lease, error) {
	r, err := CallLease(ctx, c, leaseID, (*leasepb.LeaseGrainClient).FireEvent, &leasepb.FireEventRequest{EventId: eventID})
	return r.GetLease(), err
}
