// Package store owns keel's replicated state: hashicorp/raft with raft-boltdb (log
// and stable store, fsync'd) and file snapshots; an FSM that applies typed commands
// (storepb.Command) in one switch, with compare-and-set on every entity's version;
// the indexed tables (go-memdb) that lists, filters and pagination read; proposal
// batching and forwarding to the leader; and linearizable reads (read index).
package store
