package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"keel/cluster/clusterpb"
)

// cutTransport is memberlist's network transport with links that can be cut:
// packets to a cut address vanish and dials to it fail, as with a firewall
// dropping this node's outgoing traffic. Cutting both ends' outgoing traffic is a
// full partition; cutting one end's is a one-way cut.
type cutTransport struct {
	*memberlist.NetTransport
	mu  sync.Mutex
	cut map[string]bool
}

func (t *cutTransport) setCut(addr string, cut bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cut[addr] = cut
}

func (t *cutTransport) isCut(addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cut[addr]
}

var errCut = errors.New("link cut")

func (t *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.isCut(addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}

func (t *cutTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.isCut(a.Addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *cutTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.isCut(addr) {
		return nil, errCut
	}
	return t.NetTransport.DialTimeout(addr, timeout)
}

func (t *cutTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.isCut(a.Addr) {
		return nil, errCut
	}
	return t.NetTransport.DialAddressTimeout(a, timeout)
}

// freeGossipPort returns a loopback port free for TCP and UDP a moment ago.
func freeGossipPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// testMember is one Membership in the test process with a cuttable transport.
type testMember struct {
	*Membership
	addr      string
	transport *cutTransport
}

type memberOpts struct {
	clusterID string
	join      []string
	key       []byte
	peersFile string
	port      int
}

func startTestMember(t *testing.T, name string, o memberOpts) *testMember {
	t.Helper()
	port := o.port
	if port == 0 {
		port = freeGossipPort(t)
	}
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"}, BindPort: port, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &cutTransport{NetTransport: nt, cut: map[string]bool{}}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	m, err := StartMembership(MembershipConfig{
		NodeName: name, GossipAddr: addr, Join: o.join, SecretKey: o.key, PeersFile: o.peersFile,
		Meta: &clusterpb.NodeMeta{Name: name, RaftAddr: name + ":raft", ClusterId: o.clusterID}, Transport: tr,
		RejoinInterval: 500 * time.Millisecond,
	})
	if err != nil {
		nt.Shutdown()
		t.Fatal(err)
	}
	tm := &testMember{Membership: m, addr: addr, transport: tr}
	t.Cleanup(func() { _ = tm.Shutdown() })
	return tm
}

// stateOf returns how m sees name ("" if never heard of).
func stateOf(m *Membership, name string) MemberState {
	mem, ok := m.Member(name)
	if !ok {
		return ""
	}
	return mem.State
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func allSeeAllAlive(members ...*testMember) func() bool {
	return func() bool {
		for _, a := range members {
			for _, b := range members {
				if stateOf(a.Membership, b.Name()) != StateAlive {
					return false
				}
			}
		}
		return true
	}
}

func startTrio(t *testing.T, key []byte) (a, b, c *testMember) {
	t.Helper()
	a = startTestMember(t, "a", memberOpts{key: key})
	b = startTestMember(t, "b", memberOpts{key: key, join: []string{a.addr}})
	c = startTestMember(t, "c", memberOpts{key: key, join: []string{a.addr}})
	waitFor(t, 10*time.Second, "a, b and c to see each other alive", allSeeAllAlive(a, b, c))
	return a, b, c
}

// A full partition lasting longer than memberlist's gossip-to-the-dead window
// heals once the links are back: every member sees every other alive again.
func TestPartitionHeals(t *testing.T) {
	a, b, c := startTrio(t, nil)
	for _, other := range []*testMember{b, c} {
		a.transport.setCut(other.addr, true)
		other.transport.setCut(a.addr, true)
	}
	waitFor(t, 10*time.Second, "each side to declare the other dead", func() bool {
		return stateOf(a.Membership, "b") == StateDead && stateOf(a.Membership, "c") == StateDead &&
			stateOf(b.Membership, "a") == StateDead && stateOf(c.Membership, "a") == StateDead
	})
	// memberlist keeps gossiping to a dead member for GossipToTheDeadTime (15 s
	// in its local config), which heals short partitions on its own; after that
	// only the rejoin loop brings the sides back together.
	time.Sleep(16 * time.Second)
	for _, other := range []*testMember{b, c} {
		a.transport.setCut(other.addr, false)
		other.transport.setCut(a.addr, false)
	}
	took := waitFor(t, 10*time.Second, "the partition to heal", allSeeAllAlive(a, b, c))
	t.Logf("healed %v after the links came back", took)
}

// A node that cannot send (its outgoing packets and dials fail) but still
// accepts connections is declared dead: no TCP fallback probe keeps it alive.
func TestOneWayCutIsDeclaredDead(t *testing.T) {
	a, b, c := startTrio(t, nil)
	a.transport.setCut(b.addr, true)
	a.transport.setCut(c.addr, true)
	took := waitFor(t, 10*time.Second, "b and c to declare a dead", func() bool {
		return stateOf(b.Membership, "a") == StateDead && stateOf(c.Membership, "a") == StateDead
	})
	t.Logf("a declared dead %v after its outgoing links were cut", took)
	a.transport.setCut(b.addr, false)
	a.transport.setCut(c.addr, false)
	waitFor(t, 10*time.Second, "the cut to heal", allSeeAllAlive(a, b, c))
}

// A node restarted without -join finds its cluster through the peers file it
// wrote while it ran.
func TestRestartWithoutJoinUsesPeersFile(t *testing.T) {
	peersFile := filepath.Join(t.TempDir(), "peers.json")
	port := freeGossipPort(t)
	a := startTestMember(t, "a", memberOpts{peersFile: peersFile, port: port, clusterID: "A"})
	b := startTestMember(t, "b", memberOpts{join: []string{a.addr}})
	c := startTestMember(t, "c", memberOpts{join: []string{a.addr}})
	waitFor(t, 10*time.Second, "the trio to form", allSeeAllAlive(a, b, c))
	waitFor(t, 5*time.Second, "the peers file to list b and c", func() bool {
		p, _, _ := loadPeers(peersFile)
		return p["b"] == b.addr && p["c"] == c.addr
	})
	if err := a.Shutdown(); err != nil { // a crash: no leave
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b to declare a dead", func() bool { return stateOf(b.Membership, "a") == StateDead })

	a2 := startTestMember(t, "a", memberOpts{peersFile: peersFile, port: port})
	took := waitFor(t, 10*time.Second, "the restarted a to rejoin", allSeeAllAlive(a2, b, c))
	t.Logf("rejoined %v after the restart", took)
	if id := a2.ClusterID(); id != "A" {
		t.Errorf("cluster ID %q after the restart, want the remembered A", id)
	}
}

// With a gossip key, a member without it or with another key cannot join, and
// the cluster never learns of it.
func TestGossipKeyKeepsStrangersOut(t *testing.T) {
	key := []byte("0123456789abcdef")
	a, b, _ := startTrio(t, key)
	noKey := startTestMember(t, "stranger", memberOpts{join: []string{a.addr}})
	wrongKey := startTestMember(t, "impostor", memberOpts{key: []byte("fedcba9876543210"), join: []string{b.addr}})
	time.Sleep(2 * time.Second) // several rejoin rounds of both strangers
	for _, m := range []*testMember{a, b} {
		for _, name := range []string{"stranger", "impostor"} {
			if st := stateOf(m.Membership, name); st != "" {
				t.Errorf("%s knows %s (%s)", m.Name(), name, st)
			}
		}
	}
	for _, s := range []*testMember{noKey, wrongKey} {
		if n := s.aliveOthers(); n != 0 {
			t.Errorf("%s sees %d members", s.Name(), n)
		}
	}
	if _, err := StartMembership(MembershipConfig{NodeName: "x", GossipAddr: "127.0.0.1:1", SecretKey: []byte("short")}); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestParseGossipKey(t *testing.T) {
	for in, ok := range map[string]bool{
		"MDEyMzQ1Njc4OWFiY2RlZg==":                     true, // 16 bytes
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3":             true, // 24 bytes
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=": true, // 32 bytes
		"c2hvcnQ=":    false, // 5 bytes
		"not base64!": false,
	} {
		if _, err := ParseGossipKey(in); (err == nil) != ok {
			t.Errorf("ParseGossipKey(%q): err %v, want ok=%v", in, err, ok)
		}
	}
}

// Node TLS: holders of the same key connect; another key or no client
// certificate is refused.
func TestNodeTLS(t *testing.T) {
	keyA, keyB := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	server, err := NodeTLS(keyA)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				_, _ = c.Write([]byte("ok"))
			}()
		}
	}()
	exchange := func(cfg *tls.Config) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", ln.Addr().String(), cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		return err
	}
	same, _ := NodeTLS(keyA)
	if err := exchange(same); err != nil {
		t.Fatalf("same key: %v", err)
	}
	other, _ := NodeTLS(keyB)
	if err := exchange(other); err == nil {
		t.Fatal("another key was accepted")
	}
	lax := other.Clone() // another key, and no check of the server: the server refuses
	lax.VerifyPeerCertificate = nil
	if err := exchange(lax); err == nil {
		t.Fatal("a client with another key was accepted by the server")
	}
	if err := exchange(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
}

// A corrupt peers file costs the rejoin hints, not the start, and is rewritten.
func TestCorruptPeersFileIsIgnored(t *testing.T) {
	peersFile := filepath.Join(t.TempDir(), "peers.json")
	if err := os.WriteFile(peersFile, []byte(`{"peers":[{"name":`), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startTestMember(t, "a", memberOpts{peersFile: peersFile})
	b := startTestMember(t, "b", memberOpts{join: []string{a.addr}})
	waitFor(t, 10*time.Second, "b to join", allSeeAllAlive(a, b))
	waitFor(t, 5*time.Second, "the peers file to be rewritten", func() bool {
		p, _, err := loadPeers(peersFile)
		return err == nil && p["b"] == b.addr
	})
}

// A remembered address that now belongs to a node of another cluster (addresses
// are reused) is not merged: neither side learns of the other. A new node with
// no cluster ID yet still joins.
func TestForeignClusterIsNotMerged(t *testing.T) {
	a1 := startTestMember(t, "n1", memberOpts{clusterID: "A"})
	a2 := startTestMember(t, "n2", memberOpts{clusterID: "A", join: []string{a1.addr}})
	waitFor(t, 10*time.Second, "cluster A to form", allSeeAllAlive(a1, a2))
	b1 := startTestMember(t, "n3", memberOpts{clusterID: "B", join: []string{a1.addr}})
	fresh := startTestMember(t, "n4", memberOpts{join: []string{a2.addr}})
	waitFor(t, 10*time.Second, "the new node to join A", allSeeAllAlive(a1, a2, fresh))
	time.Sleep(1500 * time.Millisecond) // rejoin rounds of b1
	for _, m := range []*testMember{a1, a2, fresh} {
		if st := stateOf(m.Membership, "n3"); st != "" {
			t.Errorf("%s knows n3 of cluster B (%s)", m.Name(), st)
		}
	}
	if n := b1.aliveOthers(); n != 0 {
		t.Errorf("n3 of cluster B sees %d members of A", n)
	}

	// Once the new node adopts A's ID, B stays out through it too.
	fresh.SetClusterID("A")
	b2 := startTestMember(t, "n5", memberOpts{clusterID: "B", join: []string{fresh.addr}})
	time.Sleep(1500 * time.Millisecond)
	if n := b2.aliveOthers(); n != 0 {
		t.Errorf("n5 of cluster B sees %d members of A", n)
	}
}

// After a graceful leave the node stops rejoining: it stays left while its
// gossip still runs (keeld leaves seconds before it shuts gossip down).
func TestNoRejoinAfterLeave(t *testing.T) {
	a, b, _ := startTrio(t, nil)
	if err := a.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b to see a left", func() bool { return stateOf(b.Membership, "a") == StateLeft })
	time.Sleep(1500 * time.Millisecond) // three rejoin rounds
	if st := stateOf(b.Membership, "a"); st != StateLeft {
		t.Fatalf("a is %s on b after it left", st)
	}
}

// A rejoin round contacts a bounded number of members, never this node or a
// member gossip shows alive.
func TestRejoinTargetsAreBounded(t *testing.T) {
	a, b, _ := startTrio(t, nil)
	a.mu.Lock()
	for i := 0; i < 20; i++ {
		a.peers[fmt.Sprintf("gone%d", i)] = fmt.Sprintf("127.0.0.1:%d", 1+i)
	}
	a.peers["b"] = b.addr
	a.mu.Unlock()
	targets := a.rejoinTargets()
	if len(targets) != maxRejoinTargets {
		t.Fatalf("%d targets, want %d", len(targets), maxRejoinTargets)
	}
	for _, addr := range targets {
		if addr == a.addr || addr == b.addr {
			t.Errorf("target %s is this node or alive", addr)
		}
	}
}

// A leave message handled after memberlist reported the leaving member dead (the
// message comes over TCP, the death over UDP) still shows the member as left.
func TestLeaveMessageAfterDeath(t *testing.T) {
	a := startTestMember(t, "a", memberOpts{})
	gone := &memberlist.Node{Name: "b", Addr: net.ParseIP("127.0.0.1"), Port: 1}
	a.record(gone, StateAlive)
	a.record(gone, StateDead)
	if s := stateOf(a.Membership, "b"); s != StateDead {
		t.Fatalf("b is %q before its leave message, want dead", s)
	}
	a.noteLeaving([]byte(leaveMessagePrefix + "b"))
	if s := stateOf(a.Membership, "b"); s != StateLeft {
		t.Fatalf("b is %q after its leave message, want left", s)
	}
}
