package compute

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"keel/agent/agentclient"
	"keel/agent/agenttest"
	"keel/agent/heartbeat"
)

// agentBin is keel-agent, built once for the package's tests.
var agentBin string

// helperEnv makes the test binary a helper process instead of running tests: a keeld
// stand-in that builds one amphora through the local driver and waits to be killed.
const helperEnv = "KEEL_COMPUTE_TEST_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		runHelper(path)
		return
	}
	dir, err := os.MkdirTemp("", "keel-compute-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin, err = agenttest.BuildAgent(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// helperInput is what the helper process builds.
type helperInput struct {
	Base, Agent string
	Spec        Spec
}

// runHelper builds the amphora described in the file at path, prints its Instance as
// one JSON line and blocks until killed (or its stdin closes).
func runHelper(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var in helperInput
	if err := json.Unmarshal(b, &in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d, err := NewLocal(LocalConfig{BaseDir: in.Base, AgentBinary: in.Agent})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	inst, err := d.Build(context.Background(), in.Spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(inst)
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// testPKI is the PKI of one amphora: its server certificate (from serverCA) and a
// controller's client certificate (from clientCA, which the agent trusts).
type testPKI struct {
	id                 string
	serverCA, clientCA *agenttest.CA
	client             *agenttest.Issued
}

func newPKI(t *testing.T) *testPKI {
	p := &testPKI{id: agenttest.NewUUID(), serverCA: agenttest.NewCA(t, "amphora CA"), clientCA: agenttest.NewCA(t, "controller CA")}
	p.client = p.clientCA.Client(t, "controller")
	return p
}

func (p *testPKI) spec(t *testing.T, key, vip string, controllers ...string) Spec {
	srv := p.serverCA.Server(t, p.id)
	return Spec{AmphoraID: p.id, ServerCert: srv.CertPEM, ServerKey: srv.KeyPEM, ClientCA: p.clientCA.CertPEM,
		HeartbeatKey: key, Controllers: controllers, HeartbeatInterval: 500 * time.Millisecond, VIP: vip}
}

// agentClient talks to the agent at addr over mutual TLS, verifying the amphora id.
func (p *testPKI) agentClient(t *testing.T, addr string) *agentclient.Client {
	return agentclient.New(addr, agentclient.TLSConfig(p.client.TLSCertificate(t), p.serverCA.Pool(), p.id), 5*time.Second)
}

func newLocal(t *testing.T, base string) *Local {
	d, err := NewLocal(LocalConfig{BaseDir: base, AgentBinary: agentBin, StopTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// deleteAtCleanup removes the amphora whatever the test did, so no agent outlives it.
func deleteAtCleanup(t *testing.T, d *Local, computeID string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		if err := d.Delete(ctx, computeID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

func waitInfo(t *testing.T, c *agentclient.Client, id string) {
	t.Helper()
	var last error
	agenttest.Eventually(t, 15*time.Second, "the agent's /info over mutual TLS", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		info, err := c.Info(ctx)
		if err == nil && info.UUID != id {
			err = fmt.Errorf("uuid %s", info.UUID)
		}
		last = err
		return err == nil
	})
	if last != nil {
		t.Fatal(last)
	}
}

// serveVIP makes the agent run one HTTP listener on vip:port in front of a backend
// and waits until the VIP answers; it returns the listener's id and haproxy's master
// pid.
func serveVIP(t *testing.T, c *agentclient.Client, amphoraID, dir, vip string, port int) (string, int) {
	t.Helper()
	be := agenttest.StartBackend(t, "backend-one")
	lid, pid := agenttest.NewUUID(), agenttest.NewUUID()
	cfg := agenttest.HTTPConfig(lid, pid, port, map[string]string{agenttest.NewUUID(): be.Addr})
	cfg = strings.Replace(cfg, "bind 127.0.0.1:", "bind "+vip+":", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.UploadConfig(ctx, amphoraID, lid, []byte(cfg)); err != nil {
		t.Fatal("upload:", err)
	}
	if _, err := c.ListenerAction(ctx, lid, "start"); err != nil {
		t.Fatal("start:", err)
	}
	url := fmt.Sprintf("http://%s:%d/", vip, port)
	agenttest.Eventually(t, 10*time.Second, "the VIP to serve", func() bool {
		body, err := agenttest.Get(url)
		return err == nil && body == "backend-one"
	})
	b, err := os.ReadFile(filepath.Join(dir, agentStateDir, "listeners", lid, "haproxy.pid"))
	if err != nil {
		t.Fatal(err)
	}
	hp, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(hp) {
		t.Fatalf("haproxy pid %q: %v", b, err)
	}
	return lid, hp
}

// checkGone verifies that Delete left nothing: no process, no file, no port.
func checkGone(t *testing.T, d *Local, in Instance, dir string, pids []int, vipAddr string) {
	t.Helper()
	if ps := procsIn(dir); len(ps) != 0 {
		t.Errorf("processes still running in %s: %v", dir, ps)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d still alive", pid)
		}
	}
	for _, p := range []string{dir, filepath.Join("/dev/shm", "keel-agent-"+in.AmphoraID)} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists (%v)", p, err)
		}
	}
	if !agenttest.PortClosed(in.Addr) {
		t.Errorf("agent port %s still open", in.Addr)
	}
	if vipAddr != "" && !agenttest.PortClosed(vipAddr) {
		t.Errorf("VIP %s still open", vipAddr)
	}
	if st, err := d.Status(context.Background(), in.ComputeID); err != nil || st.State != Gone {
		t.Errorf("status after delete: %+v %v", st, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.children[dir]; c != nil {
		t.Errorf("child %d not reaped", c.pid)
	}
}

// TestLocalAgentLifecycle builds a real agent through the driver, reaches it over
// mutual TLS, receives its heartbeats, serves a VIP through its haproxy, restarts it
// on a new controller list without interrupting the VIP, and deletes it.
func TestLocalAgentLifecycle(t *testing.T) {
	agenttest.NeedCommand(t, "/usr/sbin/haproxy")
	ctx := context.Background()
	// A base directory as long as a real <data-dir>/amphorae may be: the socket paths
	// would not fit under an absolute state dir this long.
	base := filepath.Join(t.TempDir(), strings.Repeat("long-", 10), "amphorae")
	d := newLocal(t, base)
	p := newPKI(t)
	key := "lifecycle-key"
	hb := agenttest.NewCollector(t, key)
	vip := "127.0.100.23"
	in, err := d.Build(ctx, p.spec(t, key, vip, hb.Addr))
	if err != nil {
		t.Fatal(err)
	}
	deleteAtCleanup(t, d, in.ComputeID)
	dir := filepath.Join(d.BaseDir(), p.id)
	if in.State != Running || in.AmphoraID != p.id || in.VIP != vip || in.NetworkIP() != "127.0.0.1" ||
		in.ComputeID != "local:"+d.cfg.HostID+":"+dir {
		t.Fatalf("instance %+v", in)
	}
	if sock := filepath.Join(dir, agentStateDir, "run", p.id+".sock"); len(sock) <= 107 {
		t.Fatalf("%s fits in a socket address: the test does not cover long paths", sock)
	}
	c := p.agentClient(t, in.Addr)
	waitInfo(t, c, p.id)
	hb.WaitFor(t, 10*time.Second, "a heartbeat", func(m *heartbeat.Message) bool { return m.ID == p.id })

	// Files: record, keys 0600, log.
	r, err := readRecord(dir)
	if err != nil || r.PID <= 0 || r.Addr != in.Addr || r.VIP != vip || r.ComputeID != in.ComputeID {
		t.Fatalf("record %+v %v", r, err)
	}
	for _, f := range []string{"etc/server.key", "etc/heartbeat.key", recordFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st.Mode(), err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, logFile)); err != nil || st.Size() == 0 {
		t.Errorf("agent log: %v", err)
	}
	if pgid, _ := syscall.Getpgid(r.PID); pgid != r.PID {
		t.Errorf("agent pgid %d, want its own group %d", pgid, r.PID)
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", r.PID)); bytes.Contains(cmdline, []byte(key)) {
		t.Error("heartbeat key on the command line")
	}

	// Build is idempotent: the same agent comes back.
	again, err := d.Build(ctx, p.spec(t, key, vip, hb.Addr))
	if err != nil || again != in {
		t.Fatalf("second build: %+v %v", again, err)
	}
	if r2, _ := readRecord(dir); r2.PID != r.PID {
		t.Fatalf("second build restarted the agent: pid %d → %d", r.PID, r2.PID)
	}
	if st, err := d.Status(ctx, in.ComputeID); err != nil || st != in {
		t.Fatalf("status %+v %v", st, err)
	}
	if l, err := d.List(ctx); err != nil || len(l) != 1 || l[0] != in {
		t.Fatalf("list %+v %v", l, err)
	}

	port := agenttest.FreePort(t)
	vipAddr := fmt.Sprintf("%s:%d", vip, port)
	lid, haproxyPID := serveVIP(t, c, p.id, dir, vip, port)

	// New controllers: the agent is replaced, haproxy is adopted and keeps serving.
	hb2 := agenttest.NewCollector(t, key)
	stop := make(chan struct{})
	failures := make(chan string, 1000)
	var served atomic.Int64
	go func() {
		defer close(failures)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if body, err := agenttest.Get("http://" + vipAddr + "/"); err != nil || body != "backend-one" {
				failures <- fmt.Sprint(body, err)
			} else {
				served.Add(1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	moved, err := d.SetControllers(ctx, in.ComputeID, []string{hb2.Addr})
	if err != nil {
		t.Fatal(err)
	}
	hb2.WaitFor(t, 10*time.Second, "a heartbeat at the new controller", func(m *heartbeat.Message) bool { return m.ID == p.id })
	close(stop)
	var failed []string
	for f := range failures {
		failed = append(failed, f)
	}
	if len(failed) > 0 || served.Load() == 0 {
		t.Errorf("VIP during the agent's restart: %d served, %d failed %v", served.Load(), len(failed), failed)
	}
	r3, _ := readRecord(dir)
	if r3.PID == r.PID || !alive(haproxyPID) || moved.State != Running || r3.Controllers[0] != hb2.Addr {
		t.Fatalf("after SetControllers: record %+v, haproxy alive %v, %+v", r3, alive(haproxyPID), moved)
	}
	c = p.agentClient(t, moved.Addr)
	waitInfo(t, c, p.id)
	if ls, err := c.Listeners(ctx); err != nil || len(ls) != 1 || ls[0].Status != "ACTIVE" {
		t.Fatalf("listeners after restart: %+v %v", ls, err)
	}
	// The new agent drives the haproxy it adopted (a reload goes through the stats
	// socket under /proc/self/cwd).
	if _, err := c.ListenerAction(ctx, lid, "reload"); err != nil {
		t.Fatal("reload after restart:", err)
	}
	if body, err := agenttest.Get("http://" + vipAddr + "/"); err != nil || body != "backend-one" {
		t.Fatalf("VIP after reload: %q %v", body, err)
	}

	if err := d.Delete(ctx, in.ComputeID); err != nil {
		t.Fatal(err)
	}
	checkGone(t, d, moved, dir, []int{r.PID, r3.PID, haproxyPID}, vipAddr)
	if err := d.Delete(ctx, in.ComputeID); err != nil {
		t.Fatal("second delete:", err)
	}
}

// TestLocalSurvivesParentKill builds an amphora from a helper process standing in for
// keeld, kills that process with SIGKILL, and checks that the agent and its haproxy
// keep running, keep sending heartbeats, and that a new driver on the same base
// directory finds the amphora and deletes it completely.
func TestLocalSurvivesParentKill(t *testing.T) {
	agenttest.NeedCommand(t, "/usr/sbin/haproxy")
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "amphorae")
	p := newPKI(t)
	key := "parent-kill-key"
	hb := agenttest.NewCollector(t, key)
	vip := "127.0.100.24"
	in := buildInHelper(t, helperInput{Base: base, Agent: agentBin, Spec: p.spec(t, key, vip, hb.Addr)})
	d := newLocal(t, base) // the restarted keeld
	deleteAtCleanup(t, d, in.ComputeID)
	dir := filepath.Join(d.BaseDir(), p.id)
	c := p.agentClient(t, in.Addr)
	waitInfo(t, c, p.id)
	r, err := readRecord(dir)
	if err != nil {
		t.Fatal(err)
	}
	port := agenttest.FreePort(t)
	vipAddr := fmt.Sprintf("%s:%d", vip, port)
	_, haproxyPID := serveVIP(t, c, p.id, dir, vip, port)
	killHelper(t)

	// The agent outlives its parent: it answers, beats and serves.
	if !alive(r.PID) {
		t.Fatal("agent died with its parent")
	}
	waitInfo(t, c, p.id)
	since := time.Now()
	hb.WaitFor(t, 10*time.Second, "a heartbeat after the parent's death", func(m *heartbeat.Message) bool {
		return m.ID == p.id && time.UnixMilli(m.Time).After(since)
	})
	if body, err := agenttest.Get("http://" + vipAddr + "/"); err != nil || body != "backend-one" {
		t.Fatalf("VIP after the parent's death: %q %v", body, err)
	}

	// A new driver instance (a restarted node) adopts it.
	st, err := d.Status(ctx, in.ComputeID)
	if err != nil || st != in {
		t.Fatalf("status from a new driver: %+v %v (built %+v)", st, err, in)
	}
	if l, err := d.List(ctx); err != nil || len(l) != 1 || l[0] != in {
		t.Fatalf("list %+v %v", l, err)
	}
	if again, err := d.Build(ctx, p.spec(t, key, vip, hb.Addr)); err != nil || again != in {
		t.Fatalf("build of the adopted amphora: %+v %v", again, err)
	}

	if err := d.Delete(ctx, in.ComputeID); err != nil {
		t.Fatal(err)
	}
	checkGone(t, d, in, dir, []int{r.PID, haproxyPID}, vipAddr)
}

// helper is the running helper process of a test.
var helper struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

// buildInHelper runs the helper process and returns the instance it built; the helper
// is killed and reaped at cleanup if the test did not kill it.
func buildInHelper(t *testing.T, in helperInput) Instance {
	t.Helper()
	path := filepath.Join(t.TempDir(), "helper.json")
	b, _ := json.Marshal(in)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	helper.cmd, helper.stderr = cmd, bytes.Buffer{}
	cmd.Stderr = &helper.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		killHelper(t)
	})
	line := make(chan []byte, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadBytes('\n')
		line <- l
	}()
	var out Instance
	select {
	case l := <-line:
		if err := json.Unmarshal(l, &out); err != nil {
			killHelper(t)
			t.Fatalf("helper: %q: %v\n%s", l, err, helper.stderr.String())
		}
	case <-time.After(60 * time.Second):
		killHelper(t)
		t.Fatalf("helper did not report within 60 s\n%s", helper.stderr.String())
	}
	return out
}

// killHelper sends SIGKILL to the helper and reaps it.
func killHelper(t *testing.T) {
	if helper.cmd == nil {
		return
	}
	helper.cmd.Process.Kill()
	helper.cmd.Wait()
	helper.cmd = nil
}

// TestLocalAgentDeath: an agent killed behind the driver's back is Gone, and Build
// starts it again.
func TestLocalAgentDeath(t *testing.T) {
	agenttest.NeedCommand(t, "/usr/sbin/haproxy")
	ctx := context.Background()
	// Reached through a symbolic link: processes' working directories read resolved.
	tmp := t.TempDir()
	if err := os.Symlink(tmp, filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}
	d := newLocal(t, filepath.Join(tmp, "link", "amphorae"))
	if real, _ := filepath.EvalSymlinks(tmp); d.BaseDir() != filepath.Join(real, "amphorae") {
		t.Fatalf("base %s", d.BaseDir())
	}
	p := newPKI(t)
	spec := p.spec(t, "k", "127.0.100.25")
	in, err := d.Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	deleteAtCleanup(t, d, in.ComputeID)
	dir := filepath.Join(d.BaseDir(), p.id)
	r, _ := readRecord(dir)
	syscall.Kill(r.PID, syscall.SIGKILL)
	agenttest.Eventually(t, 10*time.Second, "status Gone", func() bool {
		st, err := d.Status(ctx, in.ComputeID)
		return err == nil && st.State == Gone && st.Addr == in.Addr
	})
	again, err := d.Build(ctx, spec)
	if err != nil || again.State != Running || again.ComputeID != in.ComputeID {
		t.Fatalf("rebuild: %+v %v", again, err)
	}
	waitInfo(t, p.agentClient(t, again.Addr), p.id)
	if r2, _ := readRecord(dir); r2.PID == r.PID || !isAgent(r2.PID, dir, p.id) {
		t.Fatalf("rebuilt agent pid %d (was %d)", r2.PID, r.PID)
	}
}

// TestLocalMissing: Build says what to install and leaves nothing behind.
func TestLocalMissing(t *testing.T) {
	ctx := context.Background()
	base := filepath.Join(t.TempDir(), "amphorae")
	spec := testSpec(agenttest.NewUUID())
	cases := []struct {
		name    string
		cfg     LocalConfig
		path    string
		program string
		want    string
	}{
		{"agent path", LocalConfig{AgentBinary: "/nonexistent/keel-agent"}, "", "keel-agent",
			"keel-agent not found (looked for /nonexistent/keel-agent): run `make build`"},
		{"agent default", LocalConfig{}, "/nonexistent", "keel-agent", "/keel-agent, $PATH): run `make build`"},
		{"haproxy", LocalConfig{AgentBinary: agentBin, HAProxy: "/nonexistent/haproxy"}, "", "haproxy",
			"haproxy not found (looked for /nonexistent/haproxy): run `apt-get install haproxy`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.path != "" {
				t.Setenv("PATH", c.path)
			}
			c.cfg.BaseDir = base
			d, err := NewLocal(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Build(ctx, spec)
			var me *MissingError
			if !errors.As(err, &me) || me.Program != c.program || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want …%s", err, c.want)
			}
			if d.Check() == nil {
				t.Fatal("Check found nothing missing")
			}
			if ents, err := os.ReadDir(base); err != nil || len(ents) != 0 {
				t.Fatalf("Build left %v behind in %s (%v)", ents, base, err)
			}
		})
	}
}

// TestLocalStartFailure: an agent that cannot start (a certificate it cannot load)
// fails Build with its log, and nothing is left.
func TestLocalStartFailure(t *testing.T) {
	agenttest.NeedCommand(t, "/usr/sbin/haproxy")
	d := newLocal(t, filepath.Join(t.TempDir(), "amphorae"))
	spec := testSpec(agenttest.NewUUID()) // "cert", "key": not PEM
	_, err := d.Build(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "did not start: it exited") || !strings.Contains(err.Error(), "keel-agent:") {
		t.Fatalf("build with a bad certificate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.BaseDir(), spec.AmphoraID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("failed build left its directory")
	}
	if ps := procsIn(d.BaseDir()); len(ps) != 0 {
		t.Fatalf("failed build left processes %v", ps)
	}
}

// TestLocalComputeIDs: ids of other hosts are not ours to judge, and malformed ids are
// refused before any file is touched.
func TestLocalComputeIDs(t *testing.T) {
	ctx := context.Background()
	d, err := NewLocal(LocalConfig{BaseDir: t.TempDir(), HostID: "here"})
	if err != nil {
		t.Fatal(err)
	}
	foreign := "local:elsewhere:/var/lib/keel/amphorae/" + agenttest.NewUUID()
	if _, err := d.Status(ctx, foreign); !errors.Is(err, ErrNotLocal) {
		t.Fatalf("foreign status: %v", err)
	}
	if err := d.Delete(ctx, foreign); !errors.Is(err, ErrNotLocal) {
		t.Fatalf("foreign delete: %v", err)
	}
	for _, bad := range []string{"", "noop:x", "local:here:relative/" + agenttest.NewUUID(), "local:here:/tmp/not-a-uuid",
		"local:here:/tmp/../" + agenttest.NewUUID(), "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce"} {
		if _, err := d.Status(ctx, bad); err == nil || errors.Is(err, ErrNotLocal) {
			t.Errorf("Status(%q): %v", bad, err)
		}
		if err := d.Delete(ctx, bad); err == nil {
			t.Errorf("Delete(%q) accepted", bad)
		}
	}
	// Never built: Gone, and deleting it succeeds.
	unknown := "local:here:" + filepath.Join(d.BaseDir(), agenttest.NewUUID())
	if st, err := d.Status(ctx, unknown); err != nil || st.State != Gone {
		t.Fatalf("unknown: %+v %v", st, err)
	}
	if err := d.Delete(ctx, unknown); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal(LocalConfig{BaseDir: "x", HostID: "a:b"}); err == nil {
		t.Fatal("host id with ':' accepted")
	}
}

// TestLocalConcurrentBuilds: amphorae built and deleted at once get their own ports
// and directories and leave nothing.
func TestLocalConcurrentBuilds(t *testing.T) {
	agenttest.NeedCommand(t, "/usr/sbin/haproxy")
	ctx := context.Background()
	d := newLocal(t, filepath.Join(t.TempDir(), "amphorae"))
	const n = 3
	pkis := make([]*testPKI, n)
	specs := make([]Spec, n)
	for i := range pkis {
		pkis[i] = newPKI(t)
		specs[i] = pkis[i].spec(t, "k", fmt.Sprintf("127.0.100.%d", 30+i))
	}
	ins := make([]Instance, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ins[i], errs[i] = d.Build(ctx, specs[i])
		}()
	}
	wg.Wait()
	addrs := map[string]bool{}
	for i, in := range ins {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		deleteAtCleanup(t, d, in.ComputeID)
		addrs[in.Addr] = true
		waitInfo(t, pkis[i].agentClient(t, in.Addr), in.AmphoraID)
	}
	if l, err := d.List(ctx); err != nil || len(l) != n || len(addrs) != n {
		t.Fatalf("list %+v %v, addresses %v", l, err, addrs)
	}
	for i := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Delete(ctx, ins[i].ComputeID)
		}()
	}
	wg.Wait()
	for i, in := range ins {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		checkGone(t, d, in, filepath.Join(d.BaseDir(), in.AmphoraID), nil, "")
	}
	if l, err := d.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("list after delete: %+v %v", l, err)
	}
}

// TestLocalPortTaken: an agent whose port was taken between allocation and bind is
// started again on another one.
func TestLocalPortTaken(t *testing.T) {
	agenttest.NeedCommand(t, "/usr/sbin/haproxy")
	d := newLocal(t, filepath.Join(t.TempDir(), "amphorae"))
	p := newPKI(t)
	spec := p.spec(t, "k", "127.0.100.26")
	dir := filepath.Join(d.BaseDir(), p.id)
	t.Cleanup(func() { d.Delete(context.Background(), d.computeID(dir)) })
	if err := writeFiles(dir, spec); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	r := &record{AmphoraID: p.id, ComputeID: d.computeID(dir), HeartbeatInterval: "1s", CertDir: certDirFor(dir, p.id)}
	agent, haproxy, err := d.binaries()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.start(context.Background(), dir, r, agent, haproxy, "k", port); err != nil {
		t.Fatal(err)
	}
	if r.Port == port || !listening(r.PID, r.Port) {
		t.Fatalf("record %+v (port %d was taken)", r, port)
	}
	if log := logTail(filepath.Join(dir, logFile), 1<<16); !strings.Contains(log, "address already in use") || !strings.Contains(log, "(attempt 2)") {
		t.Fatalf("log:\n%s", log)
	}
	waitInfo(t, p.agentClient(t, r.Addr), p.id)
}
