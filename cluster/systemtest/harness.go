// Package systemtest is keel's test support for system tests: it builds keeld once
// per test binary and runs real keeld processes on loopback ports, as rqlite's
// system_test does — start, SIGKILL, SIGTERM, SIGSTOP/SIGCONT, restart on the same
// data dir (with or without -join) — with HTTP helpers to drive them. Every wait is
// bounded and every process is reaped.
//
// Nodes listen on 127.0.0.1 unless NewNodeOn gives them their own loopback address
// (127.0.0.X) and a user id, which is what lets the chaos suite cut one node off
// with iptables (cluster/chaostest).
//
// KEEL_SYSTEMTEST_RACE=1 builds keeld with -race; every node's log is then checked
// when its test ends, and a "WARNING: DATA RACE" report fails the test (the report is
// printed) unless it is one of the known races inside protoactor-go (knownRaces,
// docs/races.md), which are logged by name.
package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keel/actors/compute"
)

// T is what the harness needs from its caller: T satisfies it, and so
// does the benchmark's runner.
type T interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Failed() bool
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
}

var (
	binDir    string
	binPath   string
	buildOnce sync.Once
	buildErr  error
)

// UseBinary makes the harness run an already built keeld (the benchmark's choice).
func UseBinary(path string) { binPath = path }

// binary builds keeld the first time a test needs a node (fuzz workers and unit
// tests in the same binary never pay for it).
func binary() (string, error) {
	buildOnce.Do(func() {
		if binPath != "" {
			return
		}
		if binDir == "" {
			buildErr = fmt.Errorf("systemtest: call systemtest.Main from TestMain")
			return
		}
		path := filepath.Join(binDir, "keeld")
		args := []string{"build", "-o", binDir + "/"}
		if RaceBuild() {
			args = append(args, "-race")
		}
		// keel-agent beside keeld: the local amphora driver finds it there.
		cmd := exec.Command("go", append(args, "keel/cmd/keeld", "keel/cmd/keel-agent")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("systemtest: build keeld: %v\n%s", err, out)
			return
		}
		binPath = path
	})
	return binPath, buildErr
}

// RaceBuild reports whether keeld is built with -race (KEEL_SYSTEMTEST_RACE=1).
func RaceBuild() bool { return os.Getenv("KEEL_SYSTEMTEST_RACE") == "1" }

// Main runs the package's tests with a scratch directory where keeld is built (on
// first use) and removes it afterwards. Call it from TestMain.
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keel-systemtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "systemtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	defer stopSharedKeystone()
	_ = os.Chmod(dir, 0o755) // nodes running under their own user id (NewNodeOn) exec from here
	binDir = dir
	return m.Run()
}

// FreePort returns a loopback port that was free a moment ago (TCP and UDP).
func FreePort(t T) int {
	t.Helper()
	return FreePortOn(t, "127.0.0.1")
}

// handedOut holds every port FreePortOn has returned in this test process, so two
// nodes (or two listeners of one node) are never given the same port.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePortOn returns a port that was free on host a moment ago (TCP and UDP). It
// picks below the kernel's ephemeral range (net.ipv4.ip_local_port_range), so the
// outgoing connections of running nodes cannot take it between now and the bind,
// and never returns a port it returned before in this process. Test processes of
// other packages pick from the same range, but a port one of them holds is
// skipped (reservePort); StartHealthy and StartClusterWith start again on new
// ports if a bind still fails.
func FreePortOn(t T, host string) int {
	t.Helper()
	low, high := portRange()
	handedOut.Lock()
	defer handedOut.Unlock()
	for i := 0; i < 500; i++ {
		port := low + rand.IntN(high-low)
		if handedOut.ports[port] || !reservePort(port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", net.JoinHostPort(host, fmt.Sprint(port)))
		l.Close()
		if err == nil {
			u.Close()
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("no free loopback port")
	return 0
}

// portReservations is one file whose byte n is write-locked (fcntl, per process)
// by the test process that handed out port n. The kernel drops the locks when
// that process exits, so nothing goes stale, and test processes of different
// packages running at once never hand out the same port. Without it, a node
// restarted on its old ports could find one taken by another package's node
// started while it was down.
var portReservations struct {
	once sync.Once
	f    *os.File
}

// reservePort takes port's byte lock for this process; false if another test
// process holds it. If the lock file cannot be opened, only the in-process
// record and the bind check guard the port.
func reservePort(port int) bool {
	portReservations.once.Do(func() {
		path := filepath.Join(os.TempDir(), "keel-test-ports.lock")
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			return
		}
		_ = f.Chmod(0o666) // test nodes may run under other user ids
		portReservations.f = f
	})
	f := portReservations.f
	if f == nil {
		return true
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: int64(port), Len: 1}
	return syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk) == nil
}

// portRange is where FreePortOn picks: from 20000 up to the first ephemeral port.
func portRange() (low, high int) {
	low, high = 20000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err == nil && first > low+1000 {
		high = first
	}
	return low, high
}

// Node is one keeld process (or its ports and data dir while it is stopped).
type Node struct {
	t          T
	Name       string
	HTTPAddr   string
	GossipAddr string
	RaftAddr   string
	ActorAddr  string
	HealthAddr string
	// BlazarAddr is keeld's -blazar-addr (the Blazar v1 listener).
	BlazarAddr string
	// MoganAddr is keeld's -mogan-addr (the Mogan v1 listener).
	MoganAddr string
	DataDir   string
	Expect    int
	Join      []string
	LogPath   string
	ExtraArgs []string
	// AmphoraDriver is keeld's -amphora-driver: "" runs noop (amphorae are records,
	// so API tests stay fast); "local" runs real keel-agents (built next to keeld).
	AmphoraDriver string
	// Host is the loopback address every port of the node is on.
	Host string
	// UID, if not 0, is the user id keeld runs as: iptables' owner match then tells
	// this node's packets from every other node's (see NewNodeOn).
	UID int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// NewNode allocates ports on 127.0.0.1 and a data dir for a node; Start runs it.
func NewNode(t T, name string) *Node {
	t.Helper()
	return NewNodeOn(t, name, "127.0.0.1", 0)
}

// NewNodeOn is NewNode with every port on host (any 127.0.0.0/8 address: Linux
// answers the whole block on lo) and keeld running as user id uid (0: as the
// test). Connections a node opens still leave from 127.0.0.1, so the host alone
// cannot tell whose packet it is; the uid can (iptables -m owner).
func NewNodeOn(t T, name, host string, uid int) *Node {
	t.Helper()
	dir := t.TempDir()
	if uid != 0 {
		// The node must reach its data dir; t.TempDir's directories are 0700.
		var err error
		if dir, err = os.MkdirTemp("", "keel-node-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := func() string { return net.JoinHostPort(host, fmt.Sprint(FreePortOn(t, host))) }
	n := &Node{t: t, Name: name, HTTPAddr: addr(), GossipAddr: addr(), RaftAddr: addr(), ActorAddr: addr(),
		HealthAddr: addr(), BlazarAddr: addr(), MoganAddr: addr(), DataDir: filepath.Join(dir, "data"), LogPath: filepath.Join(dir, name+".log"), Expect: 1,
		Host: host, UID: uid}
	t.Cleanup(func() {
		n.Kill()
		n.reapAmphorae()
		if t.Failed() {
			n.dumpLog()
		}
		if RaceBuild() {
			races, known := n.RaceReports()
			if len(known) > 0 {
				t.Logf("%s: %d known upstream data race report(s), not failing (docs/races.md): %s", n.Name, len(known), strings.Join(known, "; "))
			}
			if len(races) > 0 {
				t.Errorf("%s: %d data race report(s) from keeld -race:\n%s", n.Name, len(races), strings.Join(races, "\n"))
			}
		}
	})
	return n
}

// RaceReports returns every "WARNING: DATA RACE" report in the node's log (all of
// its runs) that is not a known upstream race, and the names of the known ones.
func (n *Node) RaceReports() (races, known []string) {
	b, err := os.ReadFile(n.LogPath)
	if err != nil {
		return nil, nil
	}
	for _, r := range raceReports(string(b)) {
		if name := knownRace(r); name != "" {
			known = append(known, name)
		} else {
			races = append(races, r)
		}
	}
	return races, known
}

// knownRaces are races inside dependencies that keel cannot fix or avoid from its
// own code: a report with the marker in one of its stacks is logged, not failed.
// docs/races.md has each one's stack, upstream reference and the way out.
var knownRaces = map[string]string{
	// protoactor-go remote.BlockList: Block swaps the set under a mutex that
	// IsBlocked and BlockedMembers never take; every reader races every block.
	"github.com/asynkron/protoactor-go/remote.(*BlockList).Block(": "protoactor BlockList (docs/races.md R1)",
	// protoactor-go cluster.MemberList: ContainsMemberID (gossip actor) reads
	// members without the mutex UpdateClusterTopology (the provider) holds.
	"github.com/asynkron/protoactor-go/cluster.(*MemberList).ContainsMemberID(": "protoactor MemberList (docs/races.md R2)",
	// protoactor-go gossip: the gossip actor updates its state (setKey) while an
	// endpoint writer still serializes a GossipRequest that shares it.
	"github.com/asynkron/protoactor-go/cluster.setKey(": "protoactor gossip state (docs/races.md R3)",
	// R4 (protoactor's receive timeout, upstream #1139) is not excused: keel's
	// grains no longer use it (actors/passivation.go).
}

func knownRace(report string) string {
	for marker, name := range knownRaces {
		if strings.Contains(report, marker) {
			return name
		}
	}
	return ""
}

func raceReports(log string) []string {
	const begin, end = "WARNING: DATA RACE", "=================="
	var out []string
	for {
		i := strings.Index(log, begin)
		if i < 0 {
			return out
		}
		log = log[i:]
		j := strings.Index(log, end)
		if j < 0 {
			j = len(log)
		}
		out = append(out, log[:j])
		log = log[j:]
	}
}

// Args are the node's command-line flags.
func (n *Node) Args() []string {
	args := []string{"-node", n.Name, "-data-dir", n.DataDir, "-http-addr", n.HTTPAddr,
		"-gossip-addr", n.GossipAddr, "-raft-addr", n.RaftAddr, "-actor-addr", n.ActorAddr,
		"-health-addr", n.HealthAddr, "-blazar-addr", n.BlazarAddr, "-mogan-addr", n.MoganAddr, "-bootstrap-expect", fmt.Sprint(n.Expect),
		"-amphora-driver", firstNonEmpty(n.AmphoraDriver, "noop")}
	if len(n.Join) > 0 {
		args = append(args, "-join", strings.Join(n.Join, ","))
	}
	// Tests drive nodes without X-Roles as administrators (loopback only); a
	// test of the member default passes -noauth-admin=false in ExtraArgs.
	args = append(args, "-noauth-admin")
	return append(args, n.ExtraArgs...)
}

// Start runs keeld (appending to the node's log).
func (n *Node) Start() {
	n.t.Helper()
	n.start(n.Args())
}

// StartWithoutJoin runs keeld without -join, as an operator restarting a node on
// its data dir with a minimal command line would: it must find the cluster again
// from what it persisted (and the others must take it back).
func (n *Node) StartWithoutJoin() {
	n.t.Helper()
	join := n.Join
	n.Join = nil
	args := n.Args()
	n.Join = join
	n.start(args)
}

func (n *Node) start(args []string) {
	n.t.Helper()
	bin, err := binary()
	if err != nil {
		n.t.Fatal(err)
	}
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if n.UID != 0 {
		if err := chownTree(n.DataDir, n.UID); err != nil {
			logf.Close()
			n.t.Fatal(err)
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(n.UID), Gid: uint32(n.UID)}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		n.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
}

// chownTree creates dir if needed and gives it and everything in it to uid.
func chownTree(dir string, uid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, uid)
	})
}

// Pid returns the process id of the running node (0 if none).
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// StartHealthy starts a fresh single node and waits until it serves requests. If
// it could not bind a port (another test took it between FreePort and the bind),
// it gets new ports and an empty data dir and starts again (3 attempts).
func (n *Node) StartHealthy(timeout time.Duration) {
	n.t.Helper()
	for attempt := 1; ; attempt++ {
		n.Start()
		deadline := time.Now().Add(timeout)
		for !n.Healthy() {
			if !n.Running() {
				log, _ := os.ReadFile(n.LogPath)
				if attempt < 3 && bytes.Contains(log, []byte("address already in use")) {
					break
				}
				n.t.Fatalf("%s exited before it was healthy:\n%s", n.Name, tail(log, 4000))
			}
			if time.Now().After(deadline) {
				n.t.Fatalf("%s not healthy within %v", n.Name, timeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n.Healthy() {
			return
		}
		n.t.Logf("%s: a port was taken; retrying on new ports", n.Name)
		n.newPorts()
	}
}

// newPorts gives a stopped node new ports, an empty data dir and an empty log.
func (n *Node) newPorts() {
	host := n.Host
	if host == "" {
		host = "127.0.0.1"
	}
	addr := func() string { return net.JoinHostPort(host, fmt.Sprint(FreePortOn(n.t, host))) }
	n.HTTPAddr, n.GossipAddr, n.RaftAddr, n.ActorAddr, n.HealthAddr, n.BlazarAddr, n.MoganAddr = addr(), addr(), addr(), addr(), addr(), addr(), addr()
	_ = os.RemoveAll(n.DataDir)
	_ = os.Remove(n.LogPath)
}

// portTaken reports whether the node has exited because a port it was given was
// taken by then.
func (n *Node) portTaken() bool {
	if n.Running() {
		return false
	}
	log, _ := os.ReadFile(n.LogPath)
	return bytes.Contains(log, []byte("address already in use"))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Running reports whether the process is up.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and reaps the process.
func (n *Node) Kill() {
	n.signal(syscall.SIGKILL, 10*time.Second)
}

// Pause stops the process (SIGSTOP): it keeps its sockets but answers nothing,
// like a node stuck in a long GC or a VM that was frozen.
func (n *Node) Pause() { n.sendOnly(syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func (n *Node) Resume() { n.sendOnly(syscall.SIGCONT) }

func (n *Node) sendOnly(sig syscall.Signal) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(sig)
	}
}

// Stop sends SIGTERM (graceful leave) and waits up to 20 s, then kills.
func (n *Node) Stop() {
	if !n.signal(syscall.SIGTERM, 20*time.Second) {
		n.t.Errorf("%s did not stop within 20s of SIGTERM", n.Name)
		n.Kill()
	}
}

// ExitCode returns the exit code of the last run (-1 if killed by a signal).
func (n *Node) ExitCode() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.ProcessState == nil {
		return -1
	}
	return n.cmd.ProcessState.ExitCode()
}

func (n *Node) signal(sig syscall.Signal, wait time.Duration) bool {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.mu.Unlock()
	if cmd == nil {
		return true
	}
	select {
	case <-exited:
		return true
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return true
	case <-time.After(wait):
		return false
	}
}

func (n *Node) dumpLog() {
	b, err := os.ReadFile(n.LogPath)
	if err != nil {
		return
	}
	b = tail(b, 8000)
	n.t.Logf("---- tail of %s log ----\n%s", n.Name, b)
}

// URL returns the node's API URL for path.
func (n *Node) URL(path string) string { return "http://" + n.HTTPAddr + path }

var client = &http.Client{Timeout: 20 * time.Second}

// Response is an API response.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// JSON decodes the body into a generic value.
func (r *Response) JSON() map[string]interface{} {
	var v map[string]interface{}
	_ = json.Unmarshal(r.Body, &v)
	return v
}

// Do sends a request; headers are "Name: value" strings. A transport error is
// returned as status 0.
func (n *Node) Do(method, path string, body interface{}, headers ...string) (*Response, error) {
	return n.do(n.URL(path), method, body, headers...)
}

func (n *Node) do(url, method string, body interface{}, headers ...string) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return &Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Body: data, Header: resp.Header}, err
}

// MustDo is Do that fails the test on a transport error or an unexpected status.
func (n *Node) MustDo(want int, method, path string, body interface{}, headers ...string) *Response {
	n.t.Helper()
	r, err := n.Do(method, path, body, headers...)
	if err != nil {
		n.t.Fatalf("%s %s on %s: %v", method, path, n.Name, err)
	}
	if r.Status != want {
		n.t.Fatalf("%s %s on %s: status %d, want %d: %s", method, path, n.Name, r.Status, want, r.Body)
	}
	return r
}

// Eventually polls cond every 50 ms until it holds or timeout passes.
func Eventually(t T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ClusterView is GET /cluster.
type ClusterView struct {
	Node    string `json:"node"`
	Leader  string `json:"leader"`
	Members []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Raft   string `json:"raft"`
	} `json:"members"`
	Raft struct {
		State        string `json:"state"`
		Term         uint64 `json:"term"`
		CommitIndex  uint64 `json:"commit_index"`
		AppliedIndex uint64 `json:"applied_index"`
		FSMIndex     uint64 `json:"fsm_index"`
	} `json:"raft"`
}

// Cluster returns the node's view of the cluster (nil if it does not answer).
func (n *Node) Cluster() *ClusterView {
	r, err := n.Do("GET", "/cluster", nil)
	if err != nil || r.Status != 200 {
		return nil
	}
	v := &ClusterView{}
	if json.Unmarshal(r.Body, v) != nil {
		return nil
	}
	return v
}

// Role returns member name's Raft role and gossip status as this node sees them.
func (v *ClusterView) Role(name string) (raft, status string) {
	for _, m := range v.Members {
		if m.Name == name {
			return m.Raft, m.Status
		}
	}
	return "", ""
}

// Healthy reports whether GET /healthz answers 200.
func (n *Node) Healthy() bool {
	r, err := n.Do("GET", "/healthz", nil)
	return err == nil && r.Status == 200
}

// StartCluster starts size nodes that bootstrap together (bootstrap-expect=size,
// each joining all the others) and waits until every node is healthy and agrees on
// a leader with size voters.
func StartCluster(t T, size int) []*Node {
	t.Helper()
	return StartClusterWith(t, size, nil)
}

// StartClusterWith is StartCluster with each node configured by configure (when
// not nil) before it starts.
func StartClusterWith(t T, size int, configure func(*Node)) []*Node {
	t.Helper()
	nodes := make([]*Node, size)
	var gossip []string
	for i := range nodes {
		nodes[i] = NewNode(t, fmt.Sprintf("n%d", i+1))
		nodes[i].Expect = size
		if configure != nil {
			configure(nodes[i])
		}
		gossip = append(gossip, nodes[i].GossipAddr)
	}
	for attempt := 1; ; attempt++ {
		for _, n := range nodes {
			n.Join = gossip
			n.Start()
		}
		// A node that could not bind a port (another test process took it between
		// FreePort and the bind) exits at once: start the whole cluster again on new
		// ports, since every node's -join names the others' gossip addresses.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, ok := converged(nodes, size); ok {
				return nodes
			}
			if attempt < 3 && anyPortTaken(nodes) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if attempt >= 3 || !anyPortTaken(nodes) {
			WaitConverged(t, nodes, size, time.Until(deadline))
			return nodes
		}
		t.Logf("a port was taken; starting the cluster again on new ports (attempt %d)", attempt+1)
		gossip = gossip[:0]
		for _, n := range nodes {
			n.Kill()
			n.newPorts()
			gossip = append(gossip, n.GossipAddr)
		}
	}
}

func anyPortTaken(nodes []*Node) bool {
	for _, n := range nodes {
		if n.portTaken() {
			return true
		}
	}
	return false
}

// WaitConverged waits until every given node is healthy, names the same leader
// and counts voters voters.
func WaitConverged(t T, nodes []*Node, voters int, timeout time.Duration) string {
	t.Helper()
	var leader string
	Eventually(t, timeout, fmt.Sprintf("%d nodes to agree on a leader with %d voters", len(nodes), voters), func() bool {
		var ok bool
		leader, ok = converged(nodes, voters)
		return ok
	})
	return leader
}

// converged reports the leader every node names, if all are healthy, name the
// same leader and count voters voters.
func converged(nodes []*Node, voters int) (string, bool) {
	leader := ""
	for _, n := range nodes {
		if !n.Healthy() {
			return "", false
		}
		v := n.Cluster()
		if v == nil || v.Leader == "" || (leader != "" && v.Leader != leader) {
			return "", false
		}
		leader = v.Leader
		count := 0
		for _, m := range v.Members {
			if m.Raft == "voter" {
				count++
			}
		}
		if count != voters {
			return "", false
		}
	}
	return leader, true
}

// ByName returns the node called name.
func ByName(nodes []*Node, name string) *Node {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// reapAmphorae removes every amphora a node's local driver started: their agents
// outlive keeld by design (as VMs outlive their controller), so a test must stop
// them itself. It uses the driver's own Delete (process group, then every
// process working in the amphora's directory).
func (n *Node) reapAmphorae() {
	dir := filepath.Join(n.DataDir, "amphorae")
	if _, err := os.Stat(dir); err != nil {
		return
	}
	local, err := compute.NewLocal(compute.LocalConfig{BaseDir: dir, AgentBinary: filepath.Join(binDir, "keel-agent")})
	if err != nil {
		n.t.Errorf("%s: reaping amphorae: %v", n.Name, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	insts, err := local.List(ctx)
	if err != nil {
		n.t.Errorf("%s: listing amphorae: %v", n.Name, err)
		return
	}
	for _, inst := range insts {
		if n.t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, inst.AmphoraID, "*.log"))
			more, _ := filepath.Glob(filepath.Join(dir, inst.AmphoraID, "agent", "listeners", "*", "*.log"))
			for _, l := range append(logs, more...) {
				b, _ := os.ReadFile(l)
				n.t.Logf("---- %s: %s ----\n%s", n.Name, l, tail(b, 3000))
			}
		}
		if err := local.Delete(ctx, inst.ComputeID); err != nil {
			n.t.Errorf("%s: deleting amphora %s: %v", n.Name, inst.AmphoraID, err)
		}
	}
}
