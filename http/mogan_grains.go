package http

import (
	"context"

	"keel/actors"
	"keel/actors/instancepb"
)

// clusterMoganGrains are the node's Mogan grains. Until the instance grains
// are registered (branch i13-grains: actors.CallInstance, CallInstanceType)
// every write answers 503, so the read side and the listener can be served
// and tested on their own.
type clusterMoganGrains struct{ c *actors.Client }

func moganGrainsMissing() error {
	return &actors.Error{Kind: actors.KindUnavailable, Message: "Service unavailable: the Mogan grains are not registered on this node"}
}

func (g clusterMoganGrains) CreateInstance(context.Context, string, *instancepb.CreateInstanceRequest) (*instancepb.InstanceReply, error) {
	return nil, moganGrainsMissing()
}

func (g clusterMoganGrains) PatchInstance(context.Context, string, *instancepb.PatchInstanceRequest) (*instancepb.InstanceReply, error) {
	return nil, moganGrainsMissing()
}

func (g clusterMoganGrains) DeleteInstance(context.Context, string, *instancepb.DeleteInstanceRequest) (*instancepb.InstanceReply, error) {
	return nil, moganGrainsMissing()
}

func (g clusterMoganGrains) SetPower(context.Context, string, *instancepb.SetPowerRequest) (*instancepb.InstanceReply, error) {
	return nil, moganGrainsMissing()
}

func (g clusterMoganGrains) WriteType(context.Context, string, *instancepb.TypeWriteRequest) (*instancepb.TypeWriteReply, error) {
	return nil, moganGrainsMissing()
}
