package cluster

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/proto"

	"keel/cluster/clusterpb"
)

// MemberState is a member's state as gossip sees it.
type MemberState string

const (
	StateAlive   MemberState = "alive"
	StateSuspect MemberState = "suspect"
	StateDead    MemberState = "dead"
	StateLeft    MemberState = "left"
)

// Member is one node known to gossip, with the metadata it publishes.
type Member struct {
	Name  string
	Addr  string // gossip address
	State MemberState
	Since time.Time // when State last changed (as seen here)
	Meta  *clusterpb.NodeMeta
}

// MembershipConfig configures gossip. Zero durations take the loopback-tuned values
// runtime.md measured (a killed node is declared dead in about 1.2–1.5 s).
type MembershipConfig struct {
	NodeName   string
	GossipAddr string   // host:port for memberlist's TCP and UDP
	Join       []string // gossip addresses of existing members
	Meta       *clusterpb.NodeMeta
	LogOutput  io.Writer

	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
}

// Membership is the node's view of the cluster from hashicorp/memberlist. It serves
// both grain placement (ActorProvider) and Raft membership (RaftMembership): one
// gossip layer, one source of truth for who is alive.
type Membership struct {
	cfg MembershipConfig
	ml  *memberlist.Memberlist

	mu      sync.Mutex
	meta    *clusterpb.NodeMeta
	members map[string]*Member
	leaving map[string]bool // members that announced a graceful leave
	subs    []chan struct{}

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// StartMembership creates the memberlist and keeps trying to join cfg.Join in the
// background until one seed answers (seeds may start after this node).
func StartMembership(cfg MembershipConfig) (*Membership, error) {
	host, portStr, err := net.SplitHostPort(cfg.GossipAddr)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip address %q: %w", cfg.GossipAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip port %q: %w", portStr, err)
	}
	m := &Membership{
		cfg:     cfg,
		meta:    proto.Clone(cfg.Meta).(*clusterpb.NodeMeta),
		members: map[string]*Member{},
		leaving: map[string]bool{},
		stop:    make(chan struct{}),
	}
	c := memberlist.DefaultLocalConfig()
	c.Name = cfg.NodeName
	c.BindAddr, c.BindPort = host, port
	c.AdvertiseAddr, c.AdvertisePort = host, port
	c.ProbeInterval = orDuration(cfg.ProbeInterval, 300*time.Millisecond)
	c.ProbeTimeout = orDuration(cfg.ProbeTimeout, 150*time.Millisecond)
	c.SuspicionMult = cfg.SuspicionMult
	if c.SuspicionMult == 0 {
		c.SuspicionMult = 3
	}
	c.GossipInterval = 100 * time.Millisecond
	c.PushPullInterval = 5 * time.Second
	c.DeadNodeReclaimTime = 5 * time.Second // a restarted node may come back on another port
	c.Delegate = (*metaDelegate)(m)
	c.Events = (*eventDelegate)(m)
	out := cfg.LogOutput
	if out == nil {
		out = io.Discard
	}
	c.Logger = log.New(&warnFilter{w: out}, "memberlist: ", log.LstdFlags)

	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("cluster: start gossip on %s: %w", cfg.GossipAddr, err)
	}
	m.ml = ml
	if len(cfg.Join) > 0 {
		m.wg.Add(1)
		go m.joinLoop()
	}
	return m, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (m *Membership) joinLoop() {
	defer m.wg.Done()
	delay := 200 * time.Millisecond
	for {
		if n, _ := m.ml.Join(m.cfg.Join); n > 0 {
			return
		}
		select {
		case <-m.stop:
			return
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}

// Name is this node's name.
func (m *Membership) Name() string { return m.cfg.NodeName }

// LocalMeta returns a copy of the metadata this node publishes.
func (m *Membership) LocalMeta() *clusterpb.NodeMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	return proto.Clone(m.meta).(*clusterpb.NodeMeta)
}

// UpdateMeta changes this node's metadata and gossips it.
func (m *Membership) UpdateMeta(change func(*clusterpb.NodeMeta)) {
	m.mu.Lock()
	next := proto.Clone(m.meta).(*clusterpb.NodeMeta)
	change(next)
	same := proto.Equal(next, m.meta)
	m.meta = next
	m.mu.Unlock()
	if !same {
		_ = m.ml.UpdateNode(2 * time.Second)
	}
}

// Members returns every node gossip has seen (self included), sorted by name.
func (m *Membership) Members() []Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Member, 0, len(m.members))
	for _, mem := range m.members {
		out = append(out, *mem)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Member returns one member by name.
func (m *Membership) Member(name string) (Member, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mem, ok := m.members[name]
	if !ok {
		return Member{}, false
	}
	return *mem, true
}

// Subscribe returns a channel that receives a signal (coalesced) on every change.
func (m *Membership) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.subs = append(m.subs, ch)
	m.mu.Unlock()
	return ch
}

func (m *Membership) record(n *memberlist.Node, state MemberState) {
	meta := &clusterpb.NodeMeta{}
	if err := proto.Unmarshal(n.Meta, meta); err != nil {
		meta = &clusterpb.NodeMeta{Name: n.Name}
	}
	if n.State == memberlist.StateSuspect && state == StateAlive {
		state = StateSuspect
	}
	m.mu.Lock()
	cur, ok := m.members[n.Name]
	if state == StateDead && (meta.Leaving || m.leaving[n.Name]) {
		state = StateLeft
	}
	if state == StateAlive && !meta.Leaving {
		delete(m.leaving, n.Name) // back after a leave
	}
	if !ok || cur.State != state {
		cur = &Member{Name: n.Name, Since: time.Now()}
		m.members[n.Name] = cur
	}
	cur.Addr = n.Address()
	cur.State = state
	if len(n.Meta) > 0 || !ok {
		cur.Meta = meta
	}
	subs := m.subs
	m.mu.Unlock()
	for _, ch := range subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Leave announces a graceful departure and waits up to timeout for it to spread.
// memberlist's leave event does not tell peers a leave from a death, so the node
// first says so itself: in its metadata, and in a direct message to every member.
func (m *Membership) Leave(timeout time.Duration) error {
	m.UpdateMeta(func(meta *clusterpb.NodeMeta) { meta.Leaving = true })
	for _, n := range m.ml.Members() {
		if n.Name != m.cfg.NodeName {
			_ = m.ml.SendReliable(n, []byte(leaveMessagePrefix+m.cfg.NodeName))
		}
	}
	return m.ml.Leave(timeout)
}

const leaveMessagePrefix = "keel-leave:"

func (m *Membership) noteLeaving(msg []byte) {
	name, ok := bytes.CutPrefix(msg, []byte(leaveMessagePrefix))
	if !ok {
		return
	}
	m.mu.Lock()
	m.leaving[string(name)] = true
	m.mu.Unlock()
}

// Shutdown stops gossip without announcing anything (after Leave, or on crash paths).
func (m *Membership) Shutdown() error {
	m.stopOnce.Do(func() { close(m.stop) })
	err := m.ml.Shutdown()
	m.wg.Wait()
	return err
}

type eventDelegate Membership

func (e *eventDelegate) NotifyJoin(n *memberlist.Node)   { (*Membership)(e).record(n, StateAlive) }
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) { (*Membership)(e).record(n, StateAlive) }

// NotifyLeave cannot tell a leave from a death (memberlist passes the node's
// stale state); record uses the leaving flag of the node's last metadata.
func (e *eventDelegate) NotifyLeave(n *memberlist.Node) { (*Membership)(e).record(n, StateDead) }

type metaDelegate Membership

func (d *metaDelegate) NodeMeta(limit int) []byte {
	b, err := proto.Marshal((*Membership)(d).LocalMeta())
	if err != nil || len(b) > limit {
		return nil
	}
	return b
}
func (d *metaDelegate) NotifyMsg(msg []byte)                       { (*Membership)(d).noteLeaving(msg) }
func (d *metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *metaDelegate) LocalState(join bool) []byte                { return nil }
func (d *metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// warnFilter passes only memberlist's warnings and errors.
type warnFilter struct{ w io.Writer }

func (f *warnFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("[WARN]")) || bytes.Contains(p, []byte("[ERR]")) {
		return f.w.Write(p)
	}
	return len(p), nil
}
