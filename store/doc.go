// Package store owns keel's replicated state: hashicorp/raft with its log in
// hashicorp/raft-wal (or raft-boltdb, logstore.go), its stable store in
// raft-boltdb, both fsync'd, and file snapshots; an FSM that applies typed commands
// (storepb.Command) in one switch, with compare-and-set on every entity's version
// and the request table that applies each request at most once (requests.go); the
// copy-on-write B-tree tables that lists, filters and pagination read; proposal
// batching and forwarding to the leader; and linearizable reads (read index at the
// commit index).
//
// Besides Octavia's load balancers and catalog it holds Blazar's reservation
// state (blazar.go, blazar_apply.go): the host inventory and the resource
// properties its extra capabilities name, leases with their reservations and
// timed events, and allocations of hosts to reservations. A lease changes by one
// LeaseTransaction per state change, named by its intent, under a
// compare-and-set on the lease's version; the FSM refuses any allocation that
// would book a host twice (overlapping windows, widened by the cleaning time)
// so concurrent lease grains never share a host. UNDONE events are indexed in
// firing order for a scheduler (State.EventsDueBy, NextEventTime).
//
// Mogan's bare-metal instances live on those hosts (mogan.go, mogan_apply.go):
// instances and instance types. An instance changes by one InstanceTransaction
// per state change, named by its intent, under a compare-and-set on its
// version; the FSM decides every host claim (State.CheckHostClaim), so two
// instances never share a host and an ACTIVE lease's hosts serve only its
// reservation's instances, of its project, however many grains schedule at
// once. A host an instance holds, and a type an instance names, are not
// deleted (IN_USE).
package store
