// Package cluster owns membership: hashicorp/memberlist gossip (Membership); a
// protoactor-go ClusterProvider on top of it so grains are placed over the alive
// members and move off dead ones (ActorProvider); Raft membership that follows
// gossip — bootstrap, adding voters and non-voters, removing leavers, and reaping
// dead voters only when quorum stays safe (RaftMembership); forwarding of proposals,
// read-index and removal requests to the leader over the actor remote (StoreActor,
// ActorForwarder); and the node status behind GET /cluster.
package cluster
