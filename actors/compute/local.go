package compute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"keel/agent/atomicfile"
	"keel/agent/ident"
)

// Local runs every amphora as a keel-agent process on this host. Each has:
//
//	<base>/<amphora-id>/          the amphora's directory, and the agent's working directory
//	  compute.json                the record: pid, port, address, VIP, controllers (0600)
//	  agent.log                   the agent's stdout and stderr
//	  etc/server.pem, server.key  its server certificate and key (key 0600)
//	  etc/client-ca.pem           the CA of the controllers' client certificates
//	  etc/heartbeat.key           the heartbeat key (0600; given to the agent in its environment)
//	  agent/                      the agent's -state-dir (listeners, haproxy sockets, vrrp)
//	/dev/shm/keel-agent-<id>/certs  its -cert-dir (listener certificates), or agent/certs
//	                              where /dev/shm is not a memory filesystem
//
// The agent's working directory is its amphora's directory, and its -state-dir is
// /proc/self/cwd/agent. A Unix socket path holds at most 107 bytes and haproxy's stats
// sockets live at <state-dir>/run/<uuid>.sock, which leaves 61 bytes for an absolute
// state dir — less than most <data-dir>/amphorae/<uuid>/agent paths; haproxy takes a
// relative path for an address, not a socket. /proc/self/cwd names, in every process
// that opens it, that process's working directory, which the agent's haproxy and
// keepalived inherit: one short absolute path that means the same directory to all of
// them. The working directory is also how the driver recognises its processes.
//
// An agent is started in its own process group, with no controlling tie to keeld: it
// survives keeld's death, and a restarted keeld (or another node on this host, since
// compute ids carry the directory) finds it through compute.json.
type Local struct {
	cfg   LocalConfig
	base  string
	log   *slog.Logger
	locks keyedMutex

	mu       sync.Mutex
	children map[string]*child // agents this process started and must reap, by directory
}

// LocalConfig configures the local driver.
type LocalConfig struct {
	// BaseDir holds one directory per amphora (keeld: <data-dir>/amphorae). Required.
	BaseDir string
	// AgentBinary is the keel-agent executable. Empty: keel-agent next to the running
	// executable (where `make build` puts it), else the first in $PATH.
	AgentBinary string
	// HAProxy is the haproxy binary the agents run; it must exist for Build.
	// Empty: /usr/sbin/haproxy (the agent's default).
	HAProxy string
	// Keepalived is the keepalived binary passed to the agents (needed only for
	// ACTIVE_STANDBY). Empty: the agent's default.
	Keepalived string
	// HostID identifies this host in compute ids. Empty: derived from
	// /etc/machine-id and the hostname.
	HostID string
	// StartTimeout bounds how long Build waits for an agent to listen (default 20 s).
	StartTimeout time.Duration
	// StopTimeout bounds how long Delete waits for an agent to stop its daemons and
	// exit after SIGTERM before it kills everything (default 20 s: the agent gives
	// each haproxy up to 10 s to finish its connections).
	StopTimeout time.Duration
	Logger      *slog.Logger
}

const (
	defaultHAProxy = "/usr/sbin/haproxy"
	recordFile     = "compute.json"
	logFile        = "agent.log"
	etcDir         = "etc"
	agentStateDir  = "agent"
	// agentStateArg is the agent's -state-dir: agentStateDir seen through the working
	// directory (see Local).
	agentStateArg = "/proc/self/cwd/" + agentStateDir
	localPrefix   = "local:"
	// killTimeout bounds the SIGKILL phase of a stop.
	killTimeout = 10 * time.Second
	// startAttempts: an agent whose port was taken between allocation and bind is
	// started again on another port.
	startAttempts = 3
)

// NewLocal returns a local driver, creating its base directory. It starts nothing and
// finds nothing missing yet: Build reports a missing keel-agent or haproxy, so keeld
// serves without them.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.BaseDir == "" {
		return nil, errors.New("compute: local driver needs a base directory")
	}
	// The base is created and resolved now: compute ids carry it, and processes'
	// working directories (how agents are recognised) read as resolved paths.
	if err := os.MkdirAll(cfg.BaseDir, 0o700); err != nil {
		return nil, fmt.Errorf("compute: %w", err)
	}
	base, err := filepath.Abs(cfg.BaseDir)
	if err == nil {
		base, err = filepath.EvalSymlinks(base)
	}
	if err != nil {
		return nil, fmt.Errorf("compute: %w", err)
	}
	if cfg.HostID == "" {
		cfg.HostID = defaultHostID()
	}
	if strings.Contains(cfg.HostID, ":") {
		return nil, fmt.Errorf("compute: host id %q must not contain ':'", cfg.HostID)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 20 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Local{cfg: cfg, base: base, log: cfg.Logger, children: map[string]*child{}}, nil
}

// Name is "local".
func (*Local) Name() string { return "local" }

// BaseDir is the absolute directory holding this driver's amphorae.
func (l *Local) BaseDir() string { return l.base }

// Check reports a missing keel-agent or haproxy (a *MissingError) without starting
// anything; keeld logs it at startup.
func (l *Local) Check() error {
	_, _, err := l.binaries()
	return err
}

// binaries resolves the agent and haproxy executables.
func (l *Local) binaries() (agent, haproxy string, err error) {
	haproxy = l.cfg.HAProxy
	if haproxy == "" {
		haproxy = defaultHAProxy
	}
	if _, err := exec.LookPath(haproxy); err != nil {
		return "", "", &MissingError{Program: "haproxy", Looked: []string{haproxy}, Install: "apt-get install haproxy"}
	}
	if l.cfg.AgentBinary != "" {
		if _, err := exec.LookPath(l.cfg.AgentBinary); err != nil {
			return "", "", &MissingError{Program: "keel-agent", Looked: []string{l.cfg.AgentBinary}, Install: "make build"}
		}
		agent, _ = filepath.Abs(l.cfg.AgentBinary)
		return agent, haproxy, nil
	}
	var looked []string
	if exe, err := os.Executable(); err == nil {
		next := filepath.Join(filepath.Dir(exe), "keel-agent")
		looked = append(looked, next)
		if _, err := exec.LookPath(next); err == nil {
			return next, haproxy, nil
		}
	}
	looked = append(looked, "$PATH")
	if p, err := exec.LookPath("keel-agent"); err == nil {
		agent, _ = filepath.Abs(p)
		return agent, haproxy, nil
	}
	return "", "", &MissingError{Program: "keel-agent", Looked: looked, Install: "make build"}
}

// record is compute.json.
type record struct {
	AmphoraID         string    `json:"amphora_id"`
	ComputeID         string    `json:"compute_id"`
	PID               int       `json:"pid"` // 0 until the agent started
	Port              int       `json:"port"`
	Addr              string    `json:"addr"`
	VIP               string    `json:"vip"`
	Controllers       []string  `json:"controllers"`
	HeartbeatInterval string    `json:"heartbeat_interval"`
	CertDir           string    `json:"cert_dir"`
	Agent             string    `json:"agent"`
	StartedAt         time.Time `json:"started_at"`
}

func readRecord(dir string) (*record, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("compute: %s: %w", filepath.Join(dir, recordFile), err)
	}
	return &r, nil
}

func writeRecord(dir string, r *record) error {
	b, _ := json.MarshalIndent(r, "", "  ")
	return atomicfile.Write(filepath.Join(dir, recordFile), append(b, '\n'), 0o600)
}

func (r *record) instance(state State) Instance {
	return Instance{ComputeID: r.ComputeID, AmphoraID: r.AmphoraID, Addr: r.Addr, VIP: r.VIP, State: state}
}

// computeID is the handle of the amphora in dir: "local:<host id>:<dir>".
func (l *Local) computeID(dir string) string { return localPrefix + l.cfg.HostID + ":" + dir }

// dirOf checks a compute id and returns its directory; ErrNotLocal if it names
// another host.
func (l *Local) dirOf(computeID string) (string, error) {
	rest, ok := strings.CutPrefix(computeID, localPrefix)
	host, dir, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || !ident.ValidUUID(filepath.Base(dir)) {
		return "", fmt.Errorf("compute: %q is not a local compute id", computeID)
	}
	if host != l.cfg.HostID {
		return "", fmt.Errorf("%w: compute id %s names host %s, this is %s", ErrNotLocal, computeID, host, l.cfg.HostID)
	}
	return dir, nil
}

// Build starts the amphora's agent (see Driver.Build). A failed Build leaves nothing
// behind; its error ends with the agent's last log lines.
func (l *Local) Build(ctx context.Context, spec Spec) (Instance, error) {
	if err := spec.Check(); err != nil {
		return Instance{}, err
	}
	agentBin, haproxy, err := l.binaries()
	if err != nil {
		return Instance{}, err
	}
	dir := filepath.Join(l.base, spec.AmphoraID)
	defer l.locks.lock(dir)()
	if r, err := readRecord(dir); err == nil && isAgent(r.PID, dir, r.AmphoraID) {
		return r.instance(Running), nil
	}
	// Whatever is there is the remains of a build that failed or an agent that died.
	if err := l.remove(ctx, dir, spec.AmphoraID); err != nil {
		return Instance{}, err
	}
	r := &record{AmphoraID: spec.AmphoraID, ComputeID: l.computeID(dir), VIP: spec.VIP,
		Controllers: append([]string{}, spec.Controllers...), HeartbeatInterval: spec.HeartbeatInterval.String(),
		CertDir: certDirFor(dir, spec.AmphoraID)}
	if err := writeFiles(dir, spec); err != nil {
		l.remove(context.WithoutCancel(ctx), dir, spec.AmphoraID)
		return Instance{}, err
	}
	if err := l.start(ctx, dir, r, agentBin, haproxy, spec.HeartbeatKey, 0); err != nil {
		l.remove(context.WithoutCancel(ctx), dir, spec.AmphoraID)
		return Instance{}, err
	}
	l.log.Info("amphora agent started", "amphora", r.AmphoraID, "pid", r.PID, "addr", r.Addr, "dir", dir)
	return r.instance(Running), nil
}

// writeFiles creates the amphora's directories and writes its PKI and key, each
// file through a temporary sibling and a rename, secrets 0600.
func writeFiles(dir string, spec Spec) error {
	for _, d := range []string{filepath.Join(dir, etcDir), filepath.Join(dir, agentStateDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("compute: %w", err)
		}
	}
	etc := filepath.Join(dir, etcDir)
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{"server.pem", spec.ServerCert, 0o644},
		{"server.key", spec.ServerKey, 0o600},
		{"client-ca.pem", spec.ClientCA, 0o644},
		{"heartbeat.key", []byte(spec.HeartbeatKey), 0o600},
	} {
		if err := atomicfile.Write(filepath.Join(etc, f.name), f.data, f.perm); err != nil {
			return fmt.Errorf("compute: %w", err)
		}
	}
	return nil
}

// certDirFor is the agent's -cert-dir: on /dev/shm when that is a memory filesystem
// (listener keys never touch a disk), else in its state dir. It is always given
// explicitly so that Delete knows what to remove.
func certDirFor(dir, amphoraID string) string {
	var st syscall.Statfs_t
	const tmpfsMagic = 0x01021994
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic {
		return filepath.Join("/dev/shm", "keel-agent-"+amphoraID, "certs")
	}
	return filepath.Join(dir, agentStateDir, "certs")
}

// child is an agent this process started: it is reaped when it exits.
type child struct {
	pid  int
	done chan struct{}
}

// start runs the agent of r in dir on port (0: a free one), records it and waits until
// it listens. On success r holds the pid, port and address.
func (l *Local) start(ctx context.Context, dir string, r *record, agentBin, haproxy, key string, port int) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.StartTimeout)
	defer cancel()
	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if port == 0 || attempt > 1 {
			p, err := freePort()
			if err != nil {
				return err
			}
			port = p
		}
		r.Port, r.Addr, r.PID, r.Agent = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 0, agentBin
		r.StartedAt = time.Now().UTC()
		// Recorded before the start, so a node dying right after it leaves an address
		// behind; the pid follows.
		if err := writeRecord(dir, r); err != nil {
			return err
		}
		c, err := l.spawn(dir, r, agentBin, haproxy, key, attempt)
		if err != nil {
			return fmt.Errorf("compute: start keel-agent: %w", err)
		}
		r.PID = c.pid
		if err := writeRecord(dir, r); err != nil {
			return err
		}
		err = waitListening(ctx, c, port)
		if err == nil {
			return nil
		}
		// Only the agent: daemons it adopted (SetControllers) keep serving.
		syscall.Kill(c.pid, syscall.SIGKILL)
		<-c.done
		tail := logTail(filepath.Join(dir, logFile), 2048)
		lastErr = fmt.Errorf("compute: keel-agent of amphora %s did not start: %w\n%s", r.AmphoraID, err, tail)
		if !errors.Is(err, errExited) || !strings.Contains(tail, "address already in use") {
			return lastErr
		}
	}
	return lastErr
}

var errExited = errors.New("it exited")

// spawn starts the agent process: own process group, working directory dir, output
// appended to agent.log, the heartbeat key in its environment (never on a command
// line that every user can read), no KEEL_* variable of keeld's own.
func (l *Local) spawn(dir string, r *record, agentBin, haproxy, key string, attempt int) (*child, error) {
	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- keel compute: starting keel-agent on %s (attempt %d) at %s\n", r.Addr, attempt, time.Now().UTC().Format(time.RFC3339Nano))
	args := []string{
		"-listen", r.Addr,
		"-tls-cert", filepath.Join(etcDir, "server.pem"), "-tls-key", filepath.Join(etcDir, "server.key"),
		"-client-ca", filepath.Join(etcDir, "client-ca.pem"),
		"-state-dir", agentStateArg, "-cert-dir", r.CertDir,
		"-amphora-id", r.AmphoraID,
		"-controllers", strings.Join(r.Controllers, ","),
		"-heartbeat-interval", r.HeartbeatInterval,
		"-haproxy", haproxy,
	}
	if l.cfg.Keepalived != "" {
		args = append(args, "-keepalived", l.cfg.Keepalived)
	}
	cmd := exec.Command(agentBin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEEL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "KEEL_HEARTBEAT_KEY="+key)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	l.mu.Lock()
	l.children[dir] = c
	l.mu.Unlock()
	return c, nil
}

// waitListening waits until c listens on 127.0.0.1:port, exits, or ctx ends.
func waitListening(ctx context.Context, c *child, port int) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if listening(c.pid, port) {
			return nil
		}
		select {
		case <-c.done:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("not listening on port %d: %w", port, ctx.Err())
		case <-tick.C:
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("compute: allocate a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Status reads the amphora's record and checks that its agent process lives.
func (l *Local) Status(ctx context.Context, computeID string) (Instance, error) {
	dir, err := l.dirOf(computeID)
	if err != nil {
		return Instance{ComputeID: computeID}, err
	}
	r, err := readRecord(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Instance{ComputeID: computeID, AmphoraID: filepath.Base(dir), State: Gone}, nil
	}
	if err != nil {
		return Instance{ComputeID: computeID}, err
	}
	if isAgent(r.PID, dir, r.AmphoraID) {
		return r.instance(Running), nil
	}
	return r.instance(Gone), nil
}

// List returns the amphorae under this driver's base directory, by amphora id.
func (l *Local) List(ctx context.Context) ([]Instance, error) {
	ents, err := os.ReadDir(l.base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Instance
	for _, e := range ents {
		if !e.IsDir() || !ident.ValidUUID(e.Name()) {
			continue
		}
		in, err := l.Status(ctx, l.computeID(filepath.Join(l.base, e.Name())))
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AmphoraID < out[j].AmphoraID })
	return out, nil
}

// Delete stops the amphora's agent (SIGTERM to its process group: the agent stops its
// haproxy and keepalived and exits), waits at most StopTimeout, kills whatever still
// runs in its directory, reaps its own children and removes the amphora's files.
func (l *Local) Delete(ctx context.Context, computeID string) error {
	dir, err := l.dirOf(computeID)
	if err != nil {
		return err
	}
	defer l.locks.lock(dir)()
	_, statErr := os.Stat(dir)
	if err := l.remove(ctx, dir, filepath.Base(dir)); err != nil {
		return err
	}
	if statErr == nil {
		l.log.Info("amphora agent deleted", "amphora", filepath.Base(dir), "dir", dir)
	}
	return nil
}

// remove stops everything running in dir and removes dir and the amphora's
// certificate directory.
func (l *Local) remove(ctx context.Context, dir, amphoraID string) error {
	r, err := readRecord(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.log.Warn("amphora record unreadable; stopping by directory", "dir", dir, "err", err)
	}
	if r != nil && isAgent(r.PID, dir, amphoraID) {
		l.terminate(ctx, r.PID)
	}
	if err := l.killAll(dir); err != nil {
		return err
	}
	l.reap(ctx, dir)
	// The certificate directory on /dev/shm (certDirFor), if the agent had one.
	if err := os.RemoveAll(filepath.Join("/dev/shm", "keel-agent-"+amphoraID)); err != nil {
		return fmt.Errorf("compute: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("compute: %w", err)
	}
	return nil
}

// terminate sends SIGTERM to the agent's process group and waits for the agent to
// exit, at most StopTimeout (or until ctx ends).
func (l *Local) terminate(ctx context.Context, pid int) {
	target := pid
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		target = -pid
	}
	syscall.Kill(target, syscall.SIGTERM)
	deadline := time.Now().Add(l.cfg.StopTimeout)
	for alive(pid) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// killAll sends SIGKILL to every process running in dir (and to the process group of
// each, which holds the workers of a haproxy master) until none is left, at most
// killTimeout.
func (l *Local) killAll(dir string) error {
	deadline := time.Now().Add(killTimeout)
	for {
		pids := procsIn(dir)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("compute: processes %v in %s survive SIGKILL", pids, dir)
		}
		for _, pid := range pids {
			if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reap waits for the agent this process started in dir, if any, to be reaped.
func (l *Local) reap(ctx context.Context, dir string) {
	l.mu.Lock()
	c := l.children[dir]
	delete(l.children, dir)
	l.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.done:
	case <-time.After(killTimeout):
		l.log.Error("amphora agent killed but not reaped", "pid", c.pid, "dir", dir)
	}
}

// SetControllers restarts the amphora's agent with a new controller list (nothing
// happens when the list is the one it has). The agent is
// killed alone (SIGKILL, not its group, not SIGTERM — which would stop its haproxy);
// its haproxy keep serving, and the new agent, on the same port if still free,
// adopts them: the data plane does not stop, heartbeats pause for a moment.
func (l *Local) SetControllers(ctx context.Context, computeID string, controllers []string) (Instance, error) {
	for _, c := range controllers {
		if _, _, err := net.SplitHostPort(c); err != nil {
			return Instance{}, fmt.Errorf("compute: controller %q is not host:port", c)
		}
	}
	dir, err := l.dirOf(computeID)
	if err != nil {
		return Instance{ComputeID: computeID}, err
	}
	agentBin, haproxy, err := l.binaries()
	if err != nil {
		return Instance{}, err
	}
	defer l.locks.lock(dir)()
	r, err := readRecord(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Instance{ComputeID: computeID, AmphoraID: filepath.Base(dir), State: Gone}, fmt.Errorf("compute: amphora %s is gone", filepath.Base(dir))
	}
	if err != nil {
		return Instance{}, err
	}
	if !isAgent(r.PID, dir, r.AmphoraID) {
		return r.instance(Gone), fmt.Errorf("compute: amphora %s is gone (agent pid %d not running)", r.AmphoraID, r.PID)
	}
	if slices.Equal(r.Controllers, controllers) {
		return r.instance(Running), nil // already sending there: no restart
	}
	key, err := os.ReadFile(filepath.Join(dir, etcDir, "heartbeat.key"))
	if err != nil {
		return Instance{}, fmt.Errorf("compute: %w", err)
	}
	syscall.Kill(r.PID, syscall.SIGKILL)
	deadline := time.Now().Add(killTimeout)
	for alive(r.PID) {
		if time.Now().After(deadline) {
			return Instance{}, fmt.Errorf("compute: agent pid %d survives SIGKILL", r.PID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.reap(ctx, dir)
	r.Controllers = append([]string{}, controllers...)
	if err := l.start(ctx, dir, r, agentBin, haproxy, string(key), r.Port); err != nil {
		return Instance{}, err
	}
	l.log.Info("amphora agent restarted with new controllers", "amphora", r.AmphoraID, "pid", r.PID, "addr", r.Addr, "controllers", controllers)
	return r.instance(Running), nil
}

// logTail is the end of a log file, from a line start.
func logTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, off, n))
	if off > 0 {
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

// defaultHostID names this host: a hash of its machine id and hostname, so two
// containers sharing a machine id but not a process table differ.
func defaultHostID() string {
	var mid []byte
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			mid = b
			break
		}
	}
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(mid)) + "\n" + host))
	return hex.EncodeToString(sum[:6])
}

// keyedMutex serialises the calls on one amphora directory.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
