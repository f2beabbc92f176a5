// Package cluster owns membership: hashicorp/memberlist gossip that heals after
// partitions and restarts (Membership: a rejoin loop over the -join seeds, the
// peers file and dead members) and is sealed with the cluster key; the TLS
// identity derived from that key for node-to-node actor traffic (NodeTLS); a
// protoactor-go ClusterProvider on top of gossip so grains are placed over the
// alive members, move off dead ones and stop on a node cut off from a quorum
// (ActorProvider, PlacementLookup); Raft membership that follows gossip —
// bootstrap, adding voters and non-voters, removing leavers, and reaping dead
// voters only when quorum stays safe (RaftMembership); forwarding of proposals,
// read-index and removal requests to the leader over the actor remote
// (StoreActor, ActorForwarder); and the node status behind GET /cluster.
package cluster
