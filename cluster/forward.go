package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/raft"

	"keel/cluster/clusterpb"
	"keel/store"
	"keel/store/storepb"
)

// StoreActorName is the well-known name of the actor each node runs to serve its
// half of leader forwarding: proposals and read-index requests from followers.
const StoreActorName = "keel-store"

// StoreActor answers forwarded proposals and read-index requests on the leader.
// Work runs off the mailbox (Raft commits take milliseconds), and the reply goes
// straight to the requester's future.
type StoreActor struct {
	node *store.Node
}

// SpawnStoreActor starts the node's store actor under its well-known name.
func SpawnStoreActor(system *actor.ActorSystem, node *store.Node) (*actor.PID, error) {
	props := actor.PropsFromProducer(func() actor.Actor { return &StoreActor{node: node} })
	return system.Root.SpawnNamed(props, StoreActorName)
}

// Receive implements actor.Actor.
func (a *StoreActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *clusterpb.ProposeRequest:
		sender, root := ctx.Sender(), ctx.ActorSystem().Root
		if sender == nil {
			return
		}
		go func() {
			batch := msg.Batch
			if len(msg.Commands) > 0 { // a node of an earlier version
				var err error
				if batch, err = (&storepb.CommandBatch{Commands: msg.Commands}).MarshalVT(); err != nil {
					root.Send(sender, &clusterpb.ProposeResponse{ErrorKind: "unavailable", Error: err.Error()})
					return
				}
			}
			res, err := a.node.ApplyForwarded(batch)
			resp := &clusterpb.ProposeResponse{Results: res}
			if err != nil {
				resp.ErrorKind, resp.Error = errorKind(err), err.Error()
			}
			root.Send(sender, resp)
		}()
	case *clusterpb.RemoveServerRequest:
		sender, root := ctx.Sender(), ctx.ActorSystem().Root
		if sender == nil {
			return
		}
		go func() {
			resp := &clusterpb.RemoveServerResponse{}
			if !a.node.IsLeader() {
				resp.Error = store.ErrNotLeader.Error()
			} else if err := a.node.Raft().RemoveServer(raft.ServerID(msg.Id), 0, 5*time.Second).Error(); err != nil {
				resp.Error = err.Error()
			}
			root.Send(sender, resp)
		}()
	case *clusterpb.ReadIndexRequest:
		sender, root := ctx.Sender(), ctx.ActorSystem().Root
		if sender == nil {
			return
		}
		go func() {
			c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			idx, err := a.node.ReadIndex(c)
			resp := &clusterpb.ReadIndexResponse{Index: idx}
			if err != nil {
				resp.ErrorKind, resp.Error = errorKind(err), err.Error()
			}
			root.Send(sender, resp)
		}()
	}
}

func errorKind(err error) string {
	switch {
	case errors.Is(err, store.ErrNotLeader):
		return "not_leader"
	case errors.Is(err, store.ErrNoLeader):
		return "unavailable"
	default:
		return "ambiguous"
	}
}

func kindError(kind, msg string) error {
	switch kind {
	case "not_leader":
		return store.ErrNotLeader
	case "unavailable":
		return store.ErrNoLeader
	default:
		return fmt.Errorf("%w: %s", store.ErrAmbiguous, msg)
	}
}

// ActorForwarder implements store.Forwarder over the protoactor remote: the leader
// is found by its Raft server ID (node name) in gossip metadata.
type ActorForwarder struct {
	system     *actor.ActorSystem
	membership *Membership
}

// NewActorForwarder returns a forwarder sending through system to members' store actors.
func NewActorForwarder(system *actor.ActorSystem, m *Membership) *ActorForwarder {
	return &ActorForwarder{system: system, membership: m}
}

var _ store.Forwarder = (*ActorForwarder)(nil)

func (f *ActorForwarder) leaderPID(leaderID string) (*actor.PID, error) {
	addr := f.membership.ActorAddress(leaderID)
	if addr == "" {
		return nil, store.ErrNoLeader
	}
	return actor.NewPID(addr, StoreActorName), nil
}

func timeoutOf(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 3 * time.Second
}

// request sends msg to pid and waits for the reply until ctx ends: its deadline
// (the future's timeout) or its cancellation (the store gives up an attempt as
// soon as it learns of a new leader).
func (f *ActorForwarder) request(ctx context.Context, pid *actor.PID, msg interface{}) (interface{}, error) {
	future := f.system.Root.RequestFuture(pid, msg, timeoutOf(ctx))
	type reply struct {
		v   interface{}
		err error
	}
	done := make(chan reply, 1)
	go func() {
		v, err := future.Result()
		done <- reply{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Propose sends a batch of encoded commands to the leader's store actor. A lost
// reply is ambiguous; an undeliverable request is not.
func (f *ActorForwarder) Propose(ctx context.Context, leaderID string, batch []byte, commands int) ([]*storepb.CommandResult, error) {
	pid, err := f.leaderPID(leaderID)
	if err != nil {
		return nil, err
	}
	raw, err := f.request(ctx, pid, &clusterpb.ProposeRequest{Batch: batch})
	if err != nil {
		if errors.Is(err, actor.ErrDeadLetter) {
			return nil, store.ErrNotLeader
		}
		return nil, fmt.Errorf("%w: forward to %s: %v", store.ErrAmbiguous, leaderID, err)
	}
	resp, ok := raw.(*clusterpb.ProposeResponse)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected reply %T", store.ErrAmbiguous, raw)
	}
	if resp.ErrorKind != "" {
		return nil, kindError(resp.ErrorKind, resp.Error)
	}
	if len(resp.Results) != commands {
		return nil, fmt.Errorf("%w: %d results for %d commands", store.ErrAmbiguous, len(resp.Results), commands)
	}
	return resp.Results, nil
}

// ReadIndex asks the leader for a read index.
func (f *ActorForwarder) ReadIndex(ctx context.Context, leaderID string) (uint64, error) {
	pid, err := f.leaderPID(leaderID)
	if err != nil {
		return 0, err
	}
	raw, err := f.request(ctx, pid, &clusterpb.ReadIndexRequest{})
	if err != nil {
		return 0, store.ErrNotLeader
	}
	resp, ok := raw.(*clusterpb.ReadIndexResponse)
	if !ok {
		return 0, store.ErrNotLeader
	}
	if resp.ErrorKind != "" {
		return 0, store.ErrNotLeader
	}
	return resp.Index, nil
}

// RemoveServer asks the leader to remove server id from the Raft configuration.
func (f *ActorForwarder) RemoveServer(ctx context.Context, leaderID, id string) error {
	pid, err := f.leaderPID(leaderID)
	if err != nil {
		return err
	}
	raw, err := f.system.Root.RequestFuture(pid, &clusterpb.RemoveServerRequest{Id: id}, timeoutOf(ctx)).Result()
	if err != nil {
		return err
	}
	resp, ok := raw.(*clusterpb.RemoveServerResponse)
	if !ok {
		return fmt.Errorf("cluster: unexpected reply %T", raw)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	return nil
}
