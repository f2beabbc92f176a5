package agenttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keel/agent/agentclient"
	"keel/agent/heartbeat"
)

// BuildAgent builds cmd/keel-agent into dir (call once, from TestMain).
func BuildAgent(dir string) (string, error) {
	bin := filepath.Join(dir, "keel-agent")
	cmd := exec.Command("go", "build", "-o", bin, "keel/cmd/keel-agent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build keel-agent: %v\n%s", err, out)
	}
	return bin, nil
}

// NewUUID returns a random UUID (version 4).
func NewUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AgentOptions tune StartAgent; zero values are fine.
type AgentOptions struct {
	Controllers       []string
	HeartbeatKey      string
	HeartbeatInterval time.Duration
	NetNS             string
	// Reuse restarts an agent on the state of a previous one (same id, dirs, PKI).
	Reuse *Agent
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// Agent is a running keel-agent process with the PKI made for it.
type Agent struct {
	ID       string
	Addr     string
	StateDir string
	CertDir  string
	Key      string
	ServerCA *CA // signs the agent's server certificate
	ClientCA *CA // signs controllers' client certificates (the agent's -client-ca)
	Client   *agentclient.Client

	certFile, keyFile string
	bin               string
	cmd               *exec.Cmd
	done              chan struct{}
	log               *syncBuffer
	stopOnce          sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Log is what the agent wrote so far.
func (a *Agent) Log() string { return a.log.String() }

func shortTempDir(t testing.TB, parent, prefix string) string {
	d, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// StartAgent starts the keel-agent binary with test PKI on a free loopback port and
// waits until its API answers. It is stopped (SIGTERM, then SIGKILL), and any daemon
// it left is killed, at cleanup.
func StartAgent(t testing.TB, bin string, opts AgentOptions) *Agent {
	t.Helper()
	NeedCommand(t, "/usr/sbin/haproxy")
	NeedCommand(t, "/usr/sbin/keepalived")
	a := &Agent{bin: bin, log: &syncBuffer{}, done: make(chan struct{})}
	if r := opts.Reuse; r != nil {
		a.ID, a.StateDir, a.CertDir, a.Key = r.ID, r.StateDir, r.CertDir, r.Key
		a.ServerCA, a.ClientCA, a.certFile, a.keyFile = r.ServerCA, r.ClientCA, r.certFile, r.keyFile
	} else {
		a.ID = NewUUID()
		// Short paths: haproxy's stats sockets live under the state dir (108-byte limit).
		a.StateDir = shortTempDir(t, "", "keelag")
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			a.CertDir = filepath.Join(shortTempDir(t, "/dev/shm", "keelag"), "certs")
		} else {
			a.CertDir = filepath.Join(a.StateDir, "certs")
		}
		a.Key = opts.HeartbeatKey
		if a.Key == "" {
			a.Key = "test-heartbeat-key-" + a.ID
		}
		a.ServerCA = NewCA(t, "keel test server CA")
		a.ClientCA = NewCA(t, "keel test client CA")
		pki := t.TempDir()
		srv := a.ServerCA.Server(t, a.ID)
		a.certFile, a.keyFile = filepath.Join(pki, "server.pem"), filepath.Join(pki, "server.key")
		os.WriteFile(a.certFile, srv.CertPEM, 0o600)
		os.WriteFile(a.keyFile, srv.KeyPEM, 0o600)
		os.WriteFile(filepath.Join(pki, "client-ca.pem"), a.ClientCA.CertPEM, 0o600)
	}
	clientCA := filepath.Join(filepath.Dir(a.certFile), "client-ca.pem")
	a.Addr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	interval := opts.HeartbeatInterval
	if interval == 0 {
		interval = 10 * time.Second
	}
	args := []string{"-listen", a.Addr, "-tls-cert", a.certFile, "-tls-key", a.keyFile, "-client-ca", clientCA,
		"-state-dir", a.StateDir, "-cert-dir", a.CertDir, "-amphora-id", a.ID,
		"-controllers", strings.Join(opts.Controllers, ","), "-heartbeat-interval", interval.String()}
	if opts.NetNS != "" {
		args = append(args, "-netns", opts.NetNS)
	}
	args = append(args, opts.ExtraArgs...)
	a.cmd = exec.Command(bin, args...)
	// The key comes from the environment, as an operator would keep it off the
	// command line.
	a.cmd.Env = append(os.Environ(), "KEEL_HEARTBEAT_KEY="+a.Key)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.Stop(t)
		killDaemons(a.StateDir)
		if t.Failed() {
			t.Logf("keel-agent log:\n%s", a.Log())
		}
	})
	a.Client = a.NewClient(a.ClientCA.Client(t, "controller").TLSCertificate(t))
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := a.Client.Info(ctx)
		cancel()
		if err == nil {
			return a
		}
		select {
		case <-a.done:
			t.Fatalf("keel-agent exited: %s", a.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("keel-agent not answering: %v\n%s", err, a.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NewClient returns an API client presenting cert (verifying the agent against
// ServerCA).
func (a *Agent) NewClient(cert tls.Certificate) *agentclient.Client {
	cfg := agentclient.TLSConfig(cert, a.ServerCA.Pool(), a.ID)
	return agentclient.New(a.Addr, cfg, 30*time.Second)
}

// Stop sends SIGTERM and waits up to 30 s (then SIGKILL); it reports whether the
// agent exited by itself.
func (a *Agent) Stop(t testing.TB) bool {
	clean := true
	a.stopOnce.Do(func() {
		a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(30 * time.Second):
			clean = false
			a.cmd.Process.Kill()
			<-a.done
		}
	})
	return clean
}

// Kill ends the agent with SIGKILL (its daemons keep running, as after a crash).
func (a *Agent) Kill() {
	a.stopOnce.Do(func() {
		a.cmd.Process.Kill()
		<-a.done
	})
}

// Exited reports whether the agent process has ended.
func (a *Agent) Exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// killDaemons kills haproxy and keepalived processes whose pid files are in stateDir
// (left behind only if the agent could not stop them).
func killDaemons(stateDir string) {
	pids, _ := filepath.Glob(filepath.Join(stateDir, "listeners", "*", "haproxy.pid"))
	pids = append(pids, filepath.Join(stateDir, "vrrp", "keepalived.pid"))
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(stateDir)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Collector receives heartbeats on a loopback UDP port and verifies them.
type Collector struct {
	Addr     string
	conn     *net.UDPConn
	verifier *heartbeat.Verifier
	mu       sync.Mutex
	msgs     []*heartbeat.Message
	raw      [][]byte
	errs     []error
	done     chan struct{}
}

// NewCollector listens on 127.0.0.1 and verifies with key; closed at cleanup.
func NewCollector(t testing.TB, key string) *Collector {
	return NewCollectorWith(t, key, heartbeat.VerifierOptions{})
}

// NewCollectorWith is NewCollector with a verifier made with opts (e.g. a short window).
func NewCollectorWith(t testing.TB, key string, opts heartbeat.VerifierOptions) *Collector {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := &Collector{Addr: conn.LocalAddr().String(), conn: conn, verifier: heartbeat.NewVerifier([]byte(key), opts), done: make(chan struct{})}
	go c.loop()
	t.Cleanup(func() { conn.Close(); <-c.done })
	return c
}

func (c *Collector) loop() {
	defer close(c.done)
	buf := make([]byte, heartbeat.MaxDatagram+1)
	for {
		n, _, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d := append([]byte{}, buf[:n]...)
		m, err := c.verifier.Verify(d)
		c.mu.Lock()
		c.raw = append(c.raw, d)
		if err != nil {
			c.errs = append(c.errs, err)
		} else {
			c.msgs = append(c.msgs, m)
		}
		c.mu.Unlock()
	}
}

// Messages returns the verified messages so far.
func (c *Collector) Messages() []*heartbeat.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*heartbeat.Message{}, c.msgs...)
}

// Raw returns every datagram received so far.
func (c *Collector) Raw() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte{}, c.raw...)
}

// Errors returns the verification failures so far.
func (c *Collector) Errors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error{}, c.errs...)
}

// WaitFor waits up to timeout for a verified message received after the call
// satisfying cond.
func (c *Collector) WaitFor(t testing.TB, timeout time.Duration, what string, cond func(*heartbeat.Message) bool) *heartbeat.Message {
	t.Helper()
	start := len(c.Messages())
	var found *heartbeat.Message
	Eventually(t, timeout, what, func() bool {
		for _, m := range c.Messages()[start:] {
			if cond(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}
