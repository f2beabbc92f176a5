package cluster

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

	// SecretKey (16, 24 or 32 bytes) encrypts and authenticates every gossip
	// packet and stream (memberlist's keyring, AES-GCM). A node without the key
	// can neither join nor be heard, so member metadata — Raft and actor
	// addresses — is only ever learned from key holders. Empty: no encryption.
	SecretKey []byte
	// PeersFile, when set, keeps the last-known members (name, gossip address)
	// across restarts, so a node started without -join finds its cluster.
	PeersFile string
	// RejoinInterval is how often members that are not alive (known peers, the
	// -join seeds, members gossip declared dead) are contacted again. Zero: 3 s.
	RejoinInterval time.Duration
	// Transport replaces memberlist's UDP/TCP transport (tests cut links with it).
	Transport memberlist.Transport

	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
}

// DefaultRejoinInterval is how often a node contacts known members it does not
// see alive: often enough that a healed partition converges in seconds, rarely
// enough that an unreachable address costs nothing noticeable.
const DefaultRejoinInterval = 3 * time.Second

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

	peers      map[string]string // name -> gossip address of members seen alive (not self)
	peersDirty bool              // peers changed since the file was written
	peersKick  chan struct{}     // wakes the peers writer (buffered, coalescing)
	left       atomic.Bool       // Leave was called: no more rejoins

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// StartMembership creates the memberlist and starts the rejoin loop: it contacts
// the -join seeds (which may start after this node) and the peers remembered in
// cfg.PeersFile at once, and from then on every cfg.RejoinInterval it contacts
// every known member that gossip does not show alive. memberlist never probes a
// member it declared dead, so without this loop a partition would never heal.
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
		cfg:       cfg,
		meta:      proto.Clone(cfg.Meta).(*clusterpb.NodeMeta),
		members:   map[string]*Member{},
		leaving:   map[string]bool{},
		peers:     map[string]string{},
		peersKick: make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
	if cfg.PeersFile != "" {
		// An unreadable file costs the rejoin hints, never the start: the seeds and
		// the members that find this node still work, and the file is rewritten.
		peers, clusterID, err := loadPeers(cfg.PeersFile)
		if err != nil && cfg.LogOutput != nil {
			fmt.Fprintf(cfg.LogOutput, "[WARN] cluster: ignoring the peers file: %v\n", err)
		}
		delete(peers, cfg.NodeName)
		m.peers = peers
		if m.meta.ClusterId == "" {
			m.meta.ClusterId = clusterID
		}
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
	// Gossip messages are a few dozen bytes, so compressing them saves nothing,
	// and memberlist's LZW writer allocates a 72 KB table for each message it
	// sends: a third of an idle node's allocations. Compressed messages from an
	// older node are still read.
	c.EnableCompression = false
	// No TCP fallback probe: a node whose outgoing packets are cut still accepts
	// TCP connections, and the fallback would keep it alive (and owning grains)
	// while it can reach nobody. UDP acks must flow both ways to count.
	c.DisableTcpPings = true
	if len(cfg.SecretKey) > 0 {
		if err := memberlist.ValidateKey(cfg.SecretKey); err != nil {
			return nil, fmt.Errorf("cluster: gossip key: %w", err)
		}
		c.SecretKey = cfg.SecretKey // GossipVerifyIncoming/Outgoing stay on: plaintext is refused
	}
	if cfg.Transport != nil {
		c.Transport = cfg.Transport
	}
	c.Delegate = (*metaDelegate)(m)
	c.Events = (*eventDelegate)(m)
	c.Merge = (*clusterGuard)(m)
	c.Alive = (*clusterGuard)(m)
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
	m.wg.Add(1)
	go m.rejoinLoop()
	if cfg.PeersFile != "" {
		m.wg.Add(1)
		go m.peersWriter()
	}
	return m, nil
}

// ParseGossipKey decodes a -gossip-key value: standard base64 of 16, 24 or 32
// bytes (an AES-128, -192 or -256 key), as Consul's encrypt option.
func ParseGossipKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// rejoinLoop contacts known members that are not alive. Until the first contact
// succeeds it retries quickly (200 ms doubling to 2 s: the seeds may be starting
// too); after that, once per RejoinInterval. Each round is one memberlist Join over
// the targets, each bounded by memberlist's TCP timeout (1 s).
func (m *Membership) rejoinLoop() {
	defer m.wg.Done()
	interval := orDuration(m.cfg.RejoinInterval, DefaultRejoinInterval)
	delay := 200 * time.Millisecond
	contacted := false
	for {
		// After a graceful leave a join would announce this node alive again.
		if !m.left.Load() && m.rejoinRound() {
			contacted = true
		}
		if contacted {
			delay = interval
		} else {
			delay = min(2*delay, 2*time.Second)
		}
		select {
		case <-m.stop:
			return
		case <-time.After(delay):
		}
	}
}

// rejoinRound joins the rejoin targets; true if one answered, or if there was
// none to contact and other members are alive.
func (m *Membership) rejoinRound() bool {
	targets := m.rejoinTargets()
	if len(targets) == 0 {
		return m.aliveOthers() > 0
	}
	n, _ := m.ml.Join(targets)
	return n > 0
}

// rejoinTargets lists the gossip addresses worth contacting: the -join seeds,
// remembered peers and members gossip declared dead — less this node and every
// address gossip already shows alive or suspect. Members that left gracefully are
// not chased; they come back by joining themselves.
func (m *Membership) rejoinTargets() []string {
	live := map[string]bool{normalizeAddr(m.cfg.GossipAddr): true}
	for _, n := range m.ml.Members() { // alive and suspect only
		live[normalizeAddr(n.Address())] = true
	}
	m.mu.Lock()
	candidates := make([]string, 0, len(m.cfg.Join)+len(m.peers))
	candidates = append(candidates, m.cfg.Join...)
	for _, addr := range m.peers {
		candidates = append(candidates, addr)
	}
	for _, mem := range m.members {
		if mem.State == StateDead && mem.Name != m.cfg.NodeName {
			candidates = append(candidates, mem.Addr)
		}
	}
	m.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, addr := range candidates {
		key := normalizeAddr(addr)
		if addr == "" || live[key] || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, addr)
	}
	// A round dials its targets one after another, each bounded by memberlist's
	// TCP timeout (1 s); a random few per round keep it short when many
	// remembered addresses are unreachable.
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if len(out) > maxRejoinTargets {
		out = out[:maxRejoinTargets]
	}
	return out
}

// maxRejoinTargets bounds the members one rejoin round contacts.
const maxRejoinTargets = 8

// aliveOthers counts members other than this node that gossip shows alive.
func (m *Membership) aliveOthers() int {
	n := 0
	for _, node := range m.ml.Members() {
		if node.Name != m.cfg.NodeName {
			n++
		}
	}
	return n
}

// normalizeAddr makes "localhost:7946" and "127.0.0.1:7946" compare equal when
// the host is a literal IP or resolves locally; otherwise the address is kept.
func normalizeAddr(addr string) string {
	if a, err := net.ResolveTCPAddr("tcp", addr); err == nil && a.IP != nil {
		return a.String()
	}
	return addr
}

// notePeer remembers (or forgets) a member for the peers file. Called with m.mu held.
func (m *Membership) notePeer(name, addr string, state MemberState) {
	if name == m.cfg.NodeName {
		return
	}
	switch state {
	case StateAlive:
		if m.peers[name] == addr {
			return
		}
		if _, ok := m.peers[name]; !ok && len(m.peers) >= maxPeers {
			m.evictPeer()
		}
		m.peers[name] = addr
	case StateLeft:
		if _, ok := m.peers[name]; !ok {
			return
		}
		delete(m.peers, name)
	default:
		return
	}
	m.peersDirty = true
	select {
	case m.peersKick <- struct{}{}:
	default:
	}
}

// peersWriter writes the peers file soon after every change (a node may be
// killed seconds after its peers joined), at most once per 100 ms, and retries a
// failed write after a second.
func (m *Membership) peersWriter() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case <-m.peersKick:
		}
		if !m.savePeers() {
			select {
			case m.peersKick <- struct{}{}:
			default:
			}
			select {
			case <-m.stop:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		select {
		case <-m.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// evictPeer drops one remembered peer that is not alive now (the one dead the
// longest), making room for a new member. Called with m.mu held.
func (m *Membership) evictPeer() {
	victim, since := "", time.Time{}
	for name := range m.peers {
		mem, ok := m.members[name]
		if !ok {
			victim = name // remembered from an earlier run, not seen in this one
			break
		}
		if mem.State != StateAlive && mem.State != StateSuspect && (victim == "" || mem.Since.Before(since)) {
			victim, since = name, mem.Since
		}
	}
	if victim != "" {
		delete(m.peers, victim)
	}
}

// savePeers writes the peers file if the remembered peers changed; false if the
// write failed (the peers stay dirty).
func (m *Membership) savePeers() bool {
	m.mu.Lock()
	if !m.peersDirty {
		m.mu.Unlock()
		return true
	}
	m.peersDirty = false
	snapshot := make(map[string]string, len(m.peers))
	for k, v := range m.peers {
		snapshot[k] = v
	}
	clusterID := m.meta.ClusterId
	m.mu.Unlock()
	if err := savePeers(m.cfg.PeersFile, clusterID, snapshot); err != nil {
		m.mu.Lock()
		m.peersDirty = true // try again next round
		m.mu.Unlock()
		if m.cfg.LogOutput != nil {
			fmt.Fprintf(m.cfg.LogOutput, "[WARN] cluster: write peers file: %v\n", err)
		}
		return false
	}
	return true
}

// Peers returns the remembered peers (name -> gossip address), self excluded.
func (m *Membership) Peers() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.peers))
	for k, v := range m.peers {
		out[k] = v
	}
	return out
}

// ClusterID is the ID of the cluster this node belongs to ("" until it
// bootstrapped one or adopted its cluster's).
func (m *Membership) ClusterID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.meta.ClusterId
}

// SetClusterID records the node's cluster (in its metadata and the peers file).
// From then on gossip refuses members that belong to another cluster.
func (m *Membership) SetClusterID(id string) {
	m.UpdateMeta(func(meta *clusterpb.NodeMeta) { meta.ClusterId = id })
	m.mu.Lock()
	m.peersDirty = true
	m.mu.Unlock()
	select {
	case m.peersKick <- struct{}{}:
	default:
	}
}

// clusterGuard keeps clusters apart: a remembered address may belong to a
// node of another cluster by now (addresses are reused), and a rejoin must not
// merge the two. memberlist asks it before merging a joined node's member list
// (NotifyMerge) and before taking any member as alive (NotifyAlive); a member
// whose metadata names another cluster is refused. Members without a cluster ID
// (new nodes, not yet added) are accepted, as is everything while this node has
// none.
type clusterGuard Membership

var errForeignCluster = errors.New("cluster: member of another cluster")

func (g *clusterGuard) foreign(n *memberlist.Node) bool {
	ours := (*Membership)(g).ClusterID()
	if ours == "" || len(n.Meta) == 0 {
		return false
	}
	meta := &clusterpb.NodeMeta{}
	if proto.Unmarshal(n.Meta, meta) != nil {
		return false
	}
	return meta.ClusterId != "" && meta.ClusterId != ours
}

// NotifyMerge refuses a push-pull merge that would bring in another cluster.
func (g *clusterGuard) NotifyMerge(peers []*memberlist.Node) error {
	for _, n := range peers {
		if g.foreign(n) {
			return fmt.Errorf("%w: %s", errForeignCluster, n.Name)
		}
	}
	return nil
}

// NotifyAlive ignores alive messages about members of another cluster.
func (g *clusterGuard) NotifyAlive(n *memberlist.Node) error {
	if g.foreign(n) {
		return fmt.Errorf("%w: %s", errForeignCluster, n.Name)
	}
	return nil
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

// CountByState counts the members gossip has seen (self included) by state
// (keel_gossip_members).
func (m *Membership) CountByState() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, 4)
	for _, mem := range m.members {
		out[string(mem.State)]++
	}
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

// ActorAddress is the protoactor address of member name, as its gossip metadata
// says ("" when the member or its address is unknown).
func (m *Membership) ActorAddress(name string) string {
	mem, ok := m.Member(name)
	if !ok || mem.Meta == nil {
		return ""
	}
	return mem.Meta.ActorAddr
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
	m.notePeer(n.Name, cur.Addr, state)
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
	m.left.Store(true)
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
	// The message (TCP) may be handled after memberlist's news of the death (UDP)
	// that the leave caused: a member already recorded dead has left.
	cur, ok := m.members[string(name)]
	changed := ok && cur.State == StateDead
	if changed {
		cur.State, cur.Since = StateLeft, time.Now()
		m.notePeer(cur.Name, cur.Addr, StateLeft)
	}
	subs := m.subs
	m.mu.Unlock()
	if changed {
		for _, ch := range subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
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

// HealthAddrs lists the heartbeat receivers of the alive members (sorted): the
// controllers amphorae send heartbeats to.
func (m *Membership) HealthAddrs() []string {
	var out []string
	for _, mem := range m.Members() {
		if mem.State == StateAlive && mem.Meta.GetHealthAddr() != "" {
			out = append(out, mem.Meta.GetHealthAddr())
		}
	}
	sort.Strings(out)
	return out
}
