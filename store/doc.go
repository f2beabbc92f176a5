// Package store owns keel's replicated state: hashicorp/raft with raft-boltdb (log
// and stable store, fsync'd) and file snapshots; an FSM that applies typed commands
// (storepb.Command) in one switch, with compare-and-set on every entity's version
// and the request table that applies each request at most once (requests.go); the
// copy-on-write B-tree tables that lists, filters and pagination read; proposal
// batching and forwarding to the leader; and linearizable reads (read index at the
// commit index).
package store
