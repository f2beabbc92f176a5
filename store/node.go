package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"keel/store/storepb"
)

// Errors of Propose, Barrier and the leader-side calls.
var (
	// ErrNotLeader: this node is not the leader; nothing was applied.
	ErrNotLeader = errors.New("store: not the leader")
	// ErrNoLeader: no leader could be reached before the deadline; nothing is known
	// to be applied.
	ErrNoLeader = errors.New("store: no leader available")
	// ErrAmbiguous: the command may or may not have been applied (leadership lost,
	// timeout). Retrying with the same request id is safe.
	ErrAmbiguous = errors.New("store: outcome unknown")
	// ErrShutdown: the node is shutting down.
	ErrShutdown = errors.New("store: shutting down")
)

// Forwarder carries proposals and read-index requests to the leader. The cluster
// package implements it over the actor remote; leaderID is the leader's Raft server
// ID (its node name).
type Forwarder interface {
	// Propose has the leader apply batch, a CommandBatch's wire encoding holding
	// commands commands (and no leader time), and returns their results.
	Propose(ctx context.Context, leaderID string, batch []byte, commands int) ([]*storepb.CommandResult, error)
	ReadIndex(ctx context.Context, leaderID string) (uint64, error)
}

// Config configures a Node. Zero durations take the defaults runtime.md measured
// for loopback clusters on 2 cores.
type Config struct {
	NodeID   string // Raft server ID: the node name, stable across restarts
	DataDir  string // DataDir/raft: raft.db (stable store), the log and snapshots
	RaftAddr string // TCP bind and advertise address
	// LogStore is where the Raft log lives: LogStoreWAL (the default) or
	// LogStoreBolt. See openLogStore for an existing data dir.
	LogStore string

	LogOutput io.Writer // raft's own log (warnings and errors); nil = stderr

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotInterval   time.Duration
	SnapshotThreshold  uint64
	TrailingLogs       uint64

	// ProposeTimeout bounds one proposal, retries on leader changes included.
	ProposeTimeout time.Duration
	// ClockTick is how often an idle leader checks for remembered requests past
	// their deadlines (clockLoop); 5 s by default.
	ClockTick time.Duration
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, 500*time.Millisecond)
	def(&c.ClockTick, 5*time.Second)
	def(&c.ElectionTimeout, 500*time.Millisecond)
	def(&c.LeaderLeaseTimeout, 250*time.Millisecond)
	def(&c.CommitTimeout, 50*time.Millisecond)
	def(&c.SnapshotInterval, 30*time.Second)
	def(&c.ProposeTimeout, 8*time.Second)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 16384
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.LogOutput == nil {
		c.LogOutput = os.Stderr
	}
	if c.LogStore == "" {
		c.LogStore = LogStoreWAL
	}
}

const (
	forwardAttemptTimeout   = time.Second
	readIndexAttemptTimeout = 500 * time.Millisecond

	maxBatch = 512 // commands per Raft entry
	// maxInflight bounds the Raft entries (forwarded batches, on a follower) this
	// node has being committed at once. Under load, what queues meanwhile makes the
	// next entry: 2 rather than 4 gave a third fewer, larger entries and ~7% less
	// CPU per create on 3 nodes at c=64 (docs/benchmarks.md).
	maxInflight = 2
)

// Node is one member of the replicated store: a Raft instance with its log (a
// WAL or bolt) and bolt stable store, file snapshots, the FSM and its tables, a
// proposal batcher and a read barrier.
type Node struct {
	cfg       Config
	raft      *raft.Raft
	fsm       *FSM
	bolt      *raftboltdb.BoltStore // the stable store, and the log with LogStoreBolt
	logStore  io.Closer             // the WAL, with LogStoreWAL
	logs      raft.LogStore         // the log behind an in-memory cache of recent entries
	transport *raft.NetworkTransport
	hadState  bool

	forwarder atomic.Pointer[forwarderBox]

	proposals chan *proposal

	readMu   sync.Mutex
	nextRead *readBatch    // the round the next reader joins
	readKick chan struct{} // wakes the read loop (buffered, coalescing)

	readIdxMu     sync.Mutex // guards the memo of lastFSMEntry
	readIdxCommit uint64
	readIdxTarget uint64

	leaderGen   atomic.Uint64 // bumped on every leadership change
	leaderReady atomic.Bool   // leader, and a Barrier completed in this term

	leaderObs    chan raft.Observation // Raft's leader observations (any node's view)
	leaderMu     sync.Mutex
	leaderChange chan struct{} // closed, and replaced, when the known leader changes

	shutdownCh chan struct{}
	closeOnce  sync.Once
	wg         sync.WaitGroup
}

type forwarderBox struct{ f Forwarder }

type proposal struct {
	raw []byte // the command's wire encoding
	// leaderOnly marks a command a follower forwarded: the leader merges it into
	// its own entries (bigger batches, fewer log writes) but never forwards it on.
	leaderOnly bool
	res        *storepb.CommandResult
	err        error
	done       chan struct{}
}

// Open opens (or creates) the node's Raft state in cfg.DataDir and starts Raft. It
// does not bootstrap a cluster: see Bootstrap.
func Open(cfg Config) (*Node, error) {
	cfg.defaults()
	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		return nil, fmt.Errorf("store: open raft stable store: %w", err)
	}
	logStore, logCloser, err := openLogStore(dir, cfg.LogStore, bolt)
	if err != nil {
		bolt.Close()
		return nil, err
	}
	closeLogs := func() {
		if logCloser != nil {
			logCloser.Close()
		}
		bolt.Close()
	}
	logs, err := raft.NewLogCache(512, logStore)
	if err != nil {
		closeLogs()
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStore(dir, 2, cfg.LogOutput)
	if err != nil {
		closeLogs()
		return nil, err
	}
	adv, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		closeLogs()
		return nil, fmt.Errorf("store: raft address %q: %w", cfg.RaftAddr, err)
	}
	transport, err := raft.NewTCPTransport(cfg.RaftAddr, adv, 3, 2*time.Second, cfg.LogOutput)
	if err != nil {
		closeLogs()
		return nil, fmt.Errorf("store: raft transport: %w", err)
	}
	hadState, err := raft.HasExistingState(logs, bolt, snaps)
	if err != nil {
		transport.Close()
		closeLogs()
		return nil, err
	}

	n := &Node{
		cfg:        cfg,
		fsm:        NewFSM(),
		bolt:       bolt,
		logStore:   logCloser,
		logs:       logs,
		transport:  transport,
		hadState:   hadState,
		proposals:  make(chan *proposal, 4096),
		nextRead:   newReadBatch(),
		readKick:   make(chan struct{}, 1),
		shutdownCh: make(chan struct{}),
	}
	notify := make(chan bool, 16)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.MaxAppendEntries = 256
	rc.NoLegacyTelemetry = true
	rc.NotifyCh = notify
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: cfg.LogOutput})

	r, err := raft.NewRaft(rc, n.fsm, logs, bolt, snaps, transport)
	if err != nil {
		transport.Close()
		closeLogs()
		return nil, fmt.Errorf("store: start raft: %w", err)
	}
	n.raft = r
	n.leaderChange = make(chan struct{})
	n.leaderObs = make(chan raft.Observation, 16)
	r.RegisterObserver(raft.NewObserver(n.leaderObs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	}))

	n.wg.Add(5)
	go n.watchLeader()
	go n.watchLeadership(notify)
	go n.batchLoop()
	go n.readLoop()
	go n.clockLoop()
	return n, nil
}

// clockLoop keeps the FSM's clock moving while the cluster is idle. The clock
// advances only with applied entries (every node must decide alike), and the
// request table forgets a request only when the clock passes its deadline; after
// a burst of writes followed by silence, the table would keep every request of
// the burst. The leader appends an empty batch (its time, no command) when the
// earliest remembered deadline has passed, so the table empties a tick later.
func (n *Node) clockLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(n.cfg.ClockTick)
	defer tick.Stop()
	for {
		select {
		case <-n.shutdownCh:
			return
		case <-tick.C:
		}
		next := n.fsm.nextExpiry.Load()
		if next == 0 || next >= time.Now().UnixMilli() || !n.LeaderReady() {
			continue
		}
		// A tick lost to a leadership change is harmless: the next one retries.
		_, _ = n.applyLocal(nil, 5*time.Second)
	}
}

// SetForwarder installs the transport to the leader (set once the actor system runs).
func (n *Node) SetForwarder(f Forwarder) { n.forwarder.Store(&forwarderBox{f}) }

func (n *Node) fwd() Forwarder {
	if b := n.forwarder.Load(); b != nil {
		return b.f
	}
	return nil
}

// State returns the replicated tables. Read them after Barrier for linearizable reads.
func (n *Node) State() *StateStore { return n.fsm.State() }

// Raft exposes the Raft instance to the membership layer (configuration changes).
func (n *Node) Raft() *raft.Raft { return n.raft }

// HadState reports whether the data dir held Raft state when the node opened.
func (n *Node) HadState() bool { return n.hadState }

// ID returns the node's Raft server ID.
func (n *Node) ID() string { return n.cfg.NodeID }

// Addr returns the node's Raft address.
func (n *Node) Addr() string { return n.cfg.RaftAddr }

// IsLeader reports whether this node is the Raft leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// LeaderReady reports whether this node leads and has applied every entry of
// earlier terms (a Barrier succeeded in this term): leader-only work may run.
func (n *Node) LeaderReady() bool { return n.leaderReady.Load() && n.IsLeader() }

// Leader returns the current leader's server ID and address ("" if none known).
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// Bootstrap starts a new cluster with the given voters (on a node without state).
func (n *Node) Bootstrap(servers []raft.Server) error {
	err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		return nil // already has state
	}
	return err
}

func (n *Node) watchLeadership(notify <-chan bool) {
	defer n.wg.Done()
	for {
		select {
		case <-n.shutdownCh:
			return
		case isLeader := <-notify:
			gen := n.leaderGen.Add(1)
			n.leaderReady.Store(false)
			if isLeader {
				go n.establishLeadership(gen)
			}
		}
	}
}

// establishLeadership waits until every entry of earlier terms is applied locally
// (raft.Barrier), then marks the node ready to serve consistent reads.
func (n *Node) establishLeadership(gen uint64) {
	for n.leaderGen.Load() == gen && n.IsLeader() {
		if err := n.raft.Barrier(5 * time.Second).Error(); err == nil {
			if n.leaderGen.Load() == gen {
				n.leaderReady.Store(true)
			}
			return
		}
		select {
		case <-n.shutdownCh:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Propose commits one command through Raft (batched with concurrent proposals,
// forwarded to the leader from a follower) and returns its result. Errors are
// ErrNoLeader, ErrAmbiguous (retry with the same request id, or Resolve it),
// ErrShutdown or ctx's. A command without a deadline gets one: now plus the
// default request lifetime.
func (n *Node) Propose(ctx context.Context, cmd *storepb.Command) (*storepb.CommandResult, error) {
	return propose(n, cmd, ctx.Done(), ctx.Err)
}

// ProposeWithin is Propose bounded by d rather than by a context: grains
// propose on every step, and a context with a timeout costs a timer, a cancel
// context and a channel each time, where a pooled timer costs nothing.
func (n *Node) ProposeWithin(d time.Duration, cmd *storepb.Command) (*storepb.CommandResult, error) {
	t := idleTimers.Get().(*time.Timer)
	t.Reset(d)
	defer func() {
		t.Stop() // since Go 1.23 a stopped timer's channel holds no stale tick: the next Reset is clean
		idleTimers.Put(t)
	}()
	return propose(n, cmd, t.C, func() error { return context.DeadlineExceeded })
}

// idleTimers holds stopped timers for ProposeWithin.
var idleTimers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// propose queues cmd for n's batcher and waits for its result until done
// delivers (a context's end or a timer's tick; why says which).
func propose[T any](n *Node, cmd *storepb.Command, done <-chan T, why func() error) (*storepb.CommandResult, error) {
	if cmd.DeadlineUnixMs == 0 {
		cmd.DeadlineUnixMs = time.Now().Add(defaultRequestLifetime).UnixMilli()
	}
	raw, err := cmd.MarshalVT() // here, on the proposer's goroutine, not the batcher's
	if err != nil {
		return nil, err
	}
	p := &proposal{raw: raw, done: make(chan struct{})}
	select {
	case n.proposals <- p:
	case <-done:
		return nil, why()
	case <-n.shutdownCh:
		return nil, ErrShutdown
	}
	select {
	case <-p.done:
		return p.res, p.err
	case <-done:
		return nil, fmt.Errorf("%w: %v", ErrAmbiguous, why())
	}
}

// Resolve decides the outcome of request reqID for good (its deadline is the one
// its commands carry): the original result if it was applied (Replayed), or
// ABORTED, after which no copy of it still in flight can apply. Use it when a
// proposal was ambiguous, or before refusing a request an earlier attempt of which
// may still be in flight. Errors are Propose's: the outcome is still unknown.
func (n *Node) Resolve(ctx context.Context, reqID string, deadlineUnixMs int64) (*storepb.CommandResult, error) {
	if reqID == "" {
		return nil, errors.New("store: resolve needs a request id")
	}
	return n.Propose(ctx, &storepb.Command{RequestId: reqID, DeadlineUnixMs: deadlineUnixMs,
		Op: &storepb.Command_ResolveRequest{ResolveRequest: &storepb.ResolveRequest{}}})
}

// batchLoop turns queued proposals into Raft entries: it takes everything queued
// while the previous entries were in flight, up to maxBatch, with at most
// maxInflight entries committing at once (group commit without added latency).
func (n *Node) batchLoop() {
	defer n.wg.Done()
	sem := make(chan struct{}, maxInflight)
	for {
		select {
		case sem <- struct{}{}:
		case <-n.shutdownCh:
			return
		}
		var first *proposal
		select {
		case first = <-n.proposals:
		case <-n.shutdownCh:
			return
		}
		batch := []*proposal{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case p := <-n.proposals:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		go func(batch []*proposal) {
			defer func() { <-sem }()
			n.commitBatch(batch)
		}(batch)
	}
}

// commitBatch commits one batch as one Raft entry and hands each proposal its
// result. A batch holding forwarded (leader-only) commands is applied here or not
// at all; if that fails, this node's own commands in it are retried on their own.
func (n *Node) commitBatch(batch []*proposal) {
	raws := make([][]byte, len(batch))
	leaderOnly := false
	for i, p := range batch {
		raws[i] = p.raw
		leaderOnly = leaderOnly || p.leaderOnly
	}
	var results []*storepb.CommandResult
	var err error
	if !leaderOnly {
		results, err = n.commit(raws)
	} else if n.IsLeader() {
		results, err = n.applyLocal(raws, n.cfg.ProposeTimeout)
	} else {
		err = ErrNotLeader
	}
	if err != nil && leaderOnly {
		var own []*proposal
		for _, p := range batch {
			if p.leaderOnly {
				p.err = err
				close(p.done)
			} else {
				own = append(own, p)
			}
		}
		if len(own) > 0 {
			n.commitBatch(own)
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.err = err
		} else {
			p.res = results[i]
		}
		close(p.done)
	}
}

// commit applies the encoded commands raws on the leader (itself, or through the
// forwarder), retrying across leader changes until ProposeTimeout. Retrying an
// ambiguous attempt is safe: commands are idempotent by request id and versions.
func (n *Node) commit(raws [][]byte) ([]*storepb.CommandResult, error) {
	deadline := time.Now().Add(n.cfg.ProposeTimeout)
	lastErr := ErrNoLeader
	var forwarded []byte // the batch as a follower forwards it, made once
	for {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return nil, lastErr
		}
		var res []*storepb.CommandResult
		var err error
		if n.IsLeader() {
			res, err = n.applyLocal(raws, remaining)
		} else if id, _ := n.Leader(); id != "" && n.fwd() != nil {
			if forwarded == nil {
				forwarded = appendCommandBatch(make([]byte, 0, commandBatchSize(raws, 0)), raws, 0)
			}
			// Short attempts: a leader that just died keeps its title for a heartbeat
			// timeout, and a request to it would otherwise wait out the whole deadline.
			ctx, cancel := n.attemptAtLeader(context.Background(), id, min(remaining, forwardAttemptTimeout))
			res, err = n.fwd().Propose(ctx, id, forwarded, len(raws))
			cancel()
		} else {
			err = ErrNoLeader
		}
		if err == nil {
			return res, nil
		}
		if errors.Is(err, ErrShutdown) {
			return nil, err
		}
		if errors.Is(err, ErrAmbiguous) || lastErr == ErrAmbiguous {
			lastErr = ErrAmbiguous
		} else {
			lastErr = ErrNoLeader
		}
		select {
		case <-n.shutdownCh:
			return nil, ErrShutdown
		case <-time.After(time.Duration(20+rand.IntN(30)) * time.Millisecond):
		}
	}
}

// attemptAtLeader bounds one forwarded attempt at leader id: it ends after
// timeout, or as soon as this node learns of another leader (or of none). A
// request sent to a leader that died is otherwise lost in the dead endpoint and
// waits out its whole timeout, although a new leader was elected meanwhile: with
// the attempts of a follower's detection window that made every write after a
// leader's kill wait ~1 s longer than the election took.
func (n *Node) attemptAtLeader(parent context.Context, id string, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	changed := n.leaderChanged()
	if cur, _ := n.Leader(); cur != id {
		cancel()
		return ctx, cancel
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-changed:
			cancel()
		}
	}()
	return ctx, cancel
}

// leaderChanged returns a channel closed at the next change of the leader this
// node knows.
func (n *Node) leaderChanged() <-chan struct{} {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	return n.leaderChange
}

// watchLeader turns Raft's leader observations into leaderChanged's broadcasts.
func (n *Node) watchLeader() {
	defer n.wg.Done()
	for {
		select {
		case <-n.leaderObs:
			n.leaderMu.Lock()
			close(n.leaderChange)
			n.leaderChange = make(chan struct{})
			n.leaderMu.Unlock()
		case <-n.shutdownCh:
			return
		}
	}
}

// ApplyForwarded applies the commands of batch, a CommandBatch's wire encoding a
// follower forwarded; only the leader accepts. They join the leader's own proposal
// batches, so the entries carry commands from every node, and they are copied
// into the entries as they came, never decoded here.
func (n *Node) ApplyForwarded(batch []byte) ([]*storepb.CommandResult, error) {
	if !n.IsLeader() {
		return nil, ErrNotLeader
	}
	raws, err := splitCommandBatch(batch)
	if err != nil {
		return nil, err
	}
	ps := make([]*proposal, len(raws))
	for i, raw := range raws {
		ps[i] = &proposal{raw: raw, leaderOnly: true, done: make(chan struct{})}
		select {
		case n.proposals <- ps[i]:
		case <-n.shutdownCh:
			return nil, ErrShutdown
		}
	}
	results := make([]*storepb.CommandResult, len(raws))
	var firstErr error
	for i, p := range ps {
		<-p.done // commitBatch always completes a proposal (applyLocal is bounded)
		if p.err != nil && firstErr == nil {
			firstErr = p.err
		}
		results[i] = p.res
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return results, nil
}

func (n *Node) applyLocal(raws [][]byte, timeout time.Duration) ([]*storepb.CommandResult, error) {
	// The leader's clock travels in the entry: every FSM checks deadlines against
	// it, so they all decide alike.
	now := time.Now().UnixMilli()
	data := encodeEntry(appendCommandBatch(make([]byte, 0, commandBatchSize(raws, now)), raws, now))
	f := n.raft.Apply(data, timeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrEnqueueTimeout):
			return nil, ErrNotLeader
		case errors.Is(err, raft.ErrRaftShutdown):
			return nil, ErrShutdown
		default: // ErrLeadershipLost and friends: it may still commit
			return nil, fmt.Errorf("%w: %v", ErrAmbiguous, err)
		}
	}
	switch r := f.Response().(type) {
	case []*storepb.CommandResult:
		if len(r) != len(raws) {
			return nil, fmt.Errorf("store: %d results for %d commands", len(r), len(raws))
		}
		return r, nil
	case error:
		return nil, r
	default:
		return nil, fmt.Errorf("store: unexpected FSM response %T", r)
	}
}

// Barrier returns once the local tables reflect every write acknowledged (on any
// node) before it was called: Raft's read-index protocol. Concurrent readers share
// one round; each round is bounded (5 s) on its own, so ctx may be Background.
func (n *Node) Barrier(ctx context.Context) error {
	n.readMu.Lock()
	r := n.nextRead
	n.readMu.Unlock()
	select {
	case n.readKick <- struct{}{}:
	default: // the loop is already due to run
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	case <-n.shutdownCh:
		return ErrShutdown
	}
}

// readBatch is one read-index round and the readers waiting on it.
type readBatch struct {
	done chan struct{}
	err  error
}

func newReadBatch() *readBatch { return &readBatch{done: make(chan struct{})} }

// readLoop runs rounds while readers wait: each round serves every reader that
// registered before it started, and its read index is taken after they arrived.
func (n *Node) readLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.readKick:
		case <-n.shutdownCh:
			return
		}
		n.readMu.Lock()
		r := n.nextRead
		n.nextRead = newReadBatch()
		n.readMu.Unlock()
		r.err = n.readRound()
		close(r.done)
	}
}

// readRound obtains a read index from the leader and waits until it is applied
// here. On the leader the index is usually applied already: no waiting, no timers.
func (n *Node) readRound() error {
	if n.IsLeader() && n.leaderReady.Load() {
		idx, err := n.ReadIndex(context.Background())
		if err == nil && n.fsm.State().AppliedIndex() >= idx {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		var idx uint64
		var err error
		if n.IsLeader() {
			idx, err = n.ReadIndex(ctx)
		} else if id, _ := n.Leader(); id != "" && n.fwd() != nil {
			actx, cancel := n.attemptAtLeader(ctx, id, readIndexAttemptTimeout)
			idx, err = n.fwd().ReadIndex(actx, id)
			cancel()
		} else {
			err = ErrNoLeader
		}
		if err == nil {
			return n.fsm.State().WaitApplied(ctx, idx)
		}
		select {
		case <-ctx.Done():
			return ErrNoLeader
		case <-n.shutdownCh:
			return ErrShutdown
		case <-time.After(time.Duration(10+rand.IntN(20)) * time.Millisecond):
		}
	}
}

// ReadIndex is the leader's half of a read (Raft dissertation §6.4): the commit
// index, taken once the leader has committed an entry of its own term (the Barrier
// of establishLeadership), covers every write acknowledged or observed anywhere;
// VerifyLeader then proves no newer leader could have committed anything else.
// The leader's *applied* index would not do: a follower may apply (and show) an
// entry before the leader does. The index returned is the last entry up to the
// commit index that reaches the FSM (no-ops and barriers never do), so readers
// can wait for the FSM to reach it.
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	for !n.leaderReady.Load() {
		if !n.IsLeader() {
			return 0, ErrNotLeader
		}
		select {
		case <-ctx.Done():
			return 0, ErrNotLeader
		case <-time.After(5 * time.Millisecond):
		}
	}
	commit := n.raft.CommitIndex()
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return 0, ErrNotLeader
	}
	return n.lastFSMEntry(commit), nil
}

// lastFSMEntry returns the index of the last entry at or below idx that the FSM
// applies (a command or a configuration), or the FSM's own index if none above it
// remains: Raft's no-op at the start of a term and Barrier entries never reach the
// FSM, so waiting for their index would never end.
func (n *Node) lastFSMEntry(idx uint64) uint64 {
	n.readIdxMu.Lock()
	defer n.readIdxMu.Unlock()
	if idx == n.readIdxCommit {
		return n.readIdxTarget
	}
	applied := n.fsm.State().AppliedIndex()
	target := applied
	var l raft.Log
	for i := idx; i > applied; i-- {
		if err := n.logs.GetLog(i, &l); err != nil {
			break // compacted into a snapshot, which the FSM holds
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			target = i
			break
		}
	}
	n.readIdxCommit, n.readIdxTarget = idx, target
	return target
}

// Status is a summary of the node's Raft state for operators. AppliedIndex is
// Raft's (every entry handed to the FSM, no-ops included); FSMIndex is the last
// entry the tables reflect, which read barriers wait on.
type Status struct {
	State        string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	FSMIndex     uint64
	LastIndex    uint64
}

// Status returns the node's Raft state.
func (n *Node) Status() Status {
	return Status{
		State:        n.raft.State().String(),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		FSMIndex:     n.fsm.State().AppliedIndex(),
		LastIndex:    n.raft.LastIndex(),
	}
}

// Configuration returns the current Raft configuration.
func (n *Node) Configuration() ([]raft.Server, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	return f.Configuration().Servers, nil
}

// Close shuts Raft down and closes the log. Pending proposals fail with ErrShutdown.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.shutdownCh)
		err = n.raft.Shutdown().Error()
		n.wg.Wait()
		n.transport.Close()
		if n.logStore != nil {
			if cerr := n.logStore.Close(); err == nil {
				err = cerr
			}
		}
		if cerr := n.bolt.Close(); err == nil {
			err = cerr
		}
	})
	return err
}
