package http

import (
	"context"

	"keel/actors"
	"keel/actors/instancepb"
)

// clusterMoganGrains are the node's Mogan grains (actors.CallInstance,
// CallInstanceType): calls that reach no decision are retried with the
// request's id, so a retry is answered, not applied twice.
type clusterMoganGrains struct{ c *actors.Client }

func (g clusterMoganGrains) CreateInstance(ctx context.Context, id string, req *instancepb.CreateInstanceRequest) (*instancepb.InstanceReply, error) {
	return actors.CallInstance(ctx, g.c, id, (*instancepb.InstanceGrainClient).Create, req)
}

func (g clusterMoganGrains) PatchInstance(ctx context.Context, id string, req *instancepb.PatchInstanceRequest) (*instancepb.InstanceReply, error) {
	return actors.CallInstance(ctx, g.c, id, (*instancepb.InstanceGrainClient).Patch, req)
}

func (g clusterMoganGrains) DeleteInstance(ctx context.Context, id string, req *instancepb.DeleteInstanceRequest) (*instancepb.InstanceReply, error) {
	return actors.CallInstance(ctx, g.c, id, (*instancepb.InstanceGrainClient).Delete, req)
}

func (g clusterMoganGrains) SetPower(ctx context.Context, id string, req *instancepb.SetPowerRequest) (*instancepb.InstanceReply, error) {
	return actors.CallInstance(ctx, g.c, id, (*instancepb.InstanceGrainClient).SetPower, req)
}

func (g clusterMoganGrains) WriteType(ctx context.Context, id string, req *instancepb.TypeWriteRequest) (*instancepb.TypeWriteReply, error) {
	return actors.CallInstanceType(ctx, g.c, id, req)
}
