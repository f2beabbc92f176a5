package haproxy

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"keel/agent/atomicfile"
	"keel/agent/certs"
	"keel/agent/ident"
	"keel/agent/process"
)

// Listener statuses of the seed.
const (
	StatusActive  = "ACTIVE"
	StatusStopped = "STOPPED"
	StatusError   = "ERROR"
)

const (
	statsTimeout = 2 * time.Second
	readyTimeout = 10 * time.Second
	stopGrace    = 5 * time.Second
	// maxSocketPath is the longest path a unix socket may have (sun_path is 108 bytes).
	maxSocketPath = 107
)

// NotFoundError: no listener with that UUID on this amphora.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return "No listener with UUID: " + e.ID }

// ConfigError: haproxy -c rejected an uploaded configuration; Output is haproxy's.
type ConfigError struct{ Output string }

func (e *ConfigError) Error() string { return "invalid haproxy configuration: " + e.Output }

// ActionError: start, stop or reload failed; Details holds haproxy's output or why.
type ActionError struct {
	Action  string // start, stop, reload
	Details string
}

func (e *ActionError) Error() string {
	verb := map[string]string{"start": "starting", "stop": "stopping", "reload": "reloading"}[e.Action]
	return "Error " + verb + " haproxy"
}

// ConflictError: the listener's configuration binds an address another running (or
// starting) listener of this amphora binds. Two haproxy processes can both bind one
// port (haproxy sets SO_REUSEPORT so that reloads never close the socket), and the
// kernel would then spread one port's connections over two listeners; so the agent
// refuses the second before starting it (409).
type ConflictError struct {
	Action string // start, reload
	Bind   string // this listener's address
	Other  string // the other listener
	With   string // its address
}

func (e *ConflictError) Error() string { return (&ActionError{Action: e.Action}).Error() }

// Details says which addresses collide.
func (e *ConflictError) Details() string {
	return fmt.Sprintf("bind %s overlaps bind %s of listener %s, which is running", e.Bind, e.With, e.Other)
}

// Config configures a Manager.
type Config struct {
	Binary   string // haproxy binary
	StateDir string // listeners live under <StateDir>/listeners, sockets under <StateDir>/run
	Certs    *certs.Store
	// NetNS, when set, runs haproxy inside that network namespace (ip netns exec).
	NetNS  string
	Logger *slog.Logger
}

// Manager runs one haproxy per listener.
type Manager struct {
	cfg Config

	mu        sync.Mutex
	listeners map[string]*listener
	version   string
	// bound holds, per listener whose haproxy runs or is being started or reloaded,
	// the addresses it binds (during a reload, those of both configurations).
	bound map[string]reservation
}

// reservation is what a listener binds; proc is nil while it starts.
type reservation struct {
	binds []Bind
	proc  *process.Proc
}

type listener struct {
	mu      sync.Mutex
	id      string
	proc    *process.Proc
	deleted bool
}

// NewManager prepares the state directories.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{cfg: cfg, listeners: map[string]*listener{}, bound: map[string]reservation{}}
	for _, d := range []string{m.listenersDir(), m.runDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if p := m.socketPath("00000000-0000-0000-0000-000000000000"); len(p) > maxSocketPath {
		return nil, fmt.Errorf("state dir %s is too long: stats socket paths (%s) exceed %d bytes", cfg.StateDir, p, maxSocketPath)
	}
	return m, nil
}

func (m *Manager) listenersDir() string          { return filepath.Join(m.cfg.StateDir, "listeners") }
func (m *Manager) runDir() string                { return filepath.Join(m.cfg.StateDir, "run") }
func (m *Manager) dir(id string) string          { return filepath.Join(m.listenersDir(), id) }
func (m *Manager) configPath(id string) string   { return filepath.Join(m.dir(id), "haproxy.cfg") }
func (m *Manager) agentCfgPath(id string) string { return filepath.Join(m.dir(id), "agent.cfg") }
func (m *Manager) pidPath(id string) string      { return filepath.Join(m.dir(id), "haproxy.pid") }
func (m *Manager) logPath(id string) string      { return filepath.Join(m.dir(id), "haproxy.log") }
func (m *Manager) wantPath(id string) string     { return filepath.Join(m.dir(id), "running") }
func (m *Manager) socketPath(id string) string   { return filepath.Join(m.runDir(), id+".sock") }

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// known reports the seed's notion of an existing listener: a configuration, a pid file
// or a stats socket is present.
func (m *Manager) known(id string) bool {
	return exists(m.configPath(id)) || exists(m.pidPath(id)) || exists(m.socketPath(id))
}

// lock returns the listener locked; with create false it fails with NotFoundError for
// a listener that does not exist on disk.
func (m *Manager) lock(id string, create bool) (*listener, error) {
	if !ident.ValidUUID(id) {
		return nil, &NotFoundError{ID: id}
	}
	for {
		m.mu.Lock()
		l, ok := m.listeners[id]
		if !ok {
			if !create && !m.known(id) {
				m.mu.Unlock()
				return nil, &NotFoundError{ID: id}
			}
			l = &listener{id: id}
			m.listeners[id] = l
		}
		m.mu.Unlock()
		l.mu.Lock()
		if l.deleted {
			l.mu.Unlock()
			continue
		}
		if !create && !m.known(id) && l.proc == nil {
			l.mu.Unlock()
			return nil, &NotFoundError{ID: id}
		}
		return l, nil
	}
}

func (l *listener) running() bool { return l.proc != nil && !l.proc.Exited() }

// reserve records that listener id is about to bind binds (keeping what it binds now,
// keep), unless another listener that runs or is starting binds an overlapping
// address. Checking and recording under one lock, two listeners started at once
// cannot both take a port.
func (m *Manager) reserve(id, action string, binds, keep []Bind, proc *process.Proc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for other, r := range m.bound {
		if other == id || (r.proc != nil && r.proc.Exited()) {
			continue
		}
		for _, b := range binds {
			for _, ob := range r.binds {
				if b.Overlaps(ob) {
					return &ConflictError{Action: action, Bind: b.Raw, Other: other, With: ob.Raw}
				}
			}
		}
	}
	m.bound[id] = reservation{binds: append(append([]Bind{}, keep...), binds...), proc: proc}
	return nil
}

// setBound records what a listener binds now (nil: nothing, it is not running).
func (m *Manager) setBound(id string, binds []Bind, proc *process.Proc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if proc == nil {
		delete(m.bound, id)
		return
	}
	m.bound[id] = reservation{binds: binds, proc: proc}
}

func (m *Manager) boundBy(id string) []Bind {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bound[id].binds
}

func (m *Manager) command(args ...string) (string, []string) {
	if m.cfg.NetNS != "" {
		return "ip", append([]string{"netns", "exec", m.cfg.NetNS, m.cfg.Binary}, args...)
	}
	return m.cfg.Binary, args
}

// check runs haproxy -c on the agent config followed by cfgFile.
func (m *Manager) check(id, cfgFile string) (string, error) {
	out, err := exec.Command(m.cfg.Binary, "-c", "-f", m.agentCfgPath(id), "-f", cfgFile).CombinedOutput()
	text := strings.TrimSpace(string(out))
	if cfgFile != m.configPath(id) {
		text = strings.ReplaceAll(text, cfgFile, "haproxy.cfg")
	}
	return text, err
}

func (m *Manager) writeAgentConfig(id string, uploaded []byte) error {
	return atomicfile.Write(m.agentCfgPath(id), AgentConfig(uploaded, m.socketPath(id), m.cfg.Certs.ListenerDir(id)), 0o600)
}

// Upload checks cfg with haproxy -c and, only if valid, stores it as the listener's
// configuration (a running haproxy keeps its configuration until reloaded). It returns
// the md5 of the stored configuration.
func (m *Manager) Upload(id string, cfg []byte) (string, error) {
	l, err := m.lock(id, true)
	if err != nil {
		return "", err
	}
	defer l.mu.Unlock()
	dir := m.dir(id)
	created := !exists(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	cleanup := func() {
		if created {
			os.RemoveAll(dir)
		}
	}
	prevAgent, prevErr := os.ReadFile(m.agentCfgPath(id))
	tmp, err := atomicfile.TempSibling(m.configPath(id), cfg, 0o600)
	if err != nil {
		cleanup()
		return "", err
	}
	if err := m.writeAgentConfig(id, cfg); err != nil {
		os.Remove(tmp)
		cleanup()
		return "", err
	}
	if out, err := m.check(id, tmp); err != nil {
		os.Remove(tmp)
		if prevErr == nil {
			atomicfile.Write(m.agentCfgPath(id), prevAgent, 0o600)
		}
		cleanup()
		if _, ok := err.(*exec.ExitError); ok {
			return "", &ConfigError{Output: out}
		}
		return "", fmt.Errorf("run %s -c: %v: %s", m.cfg.Binary, err, out)
	}
	if err := os.Rename(tmp, m.configPath(id)); err != nil {
		os.Remove(tmp)
		cleanup()
		return "", err
	}
	h := md5.Sum(cfg)
	return hex.EncodeToString(h[:]), nil
}

// Config returns the stored (uploaded) configuration.
func (m *Manager) Config(id string) ([]byte, error) {
	if !ident.ValidUUID(id) {
		return nil, &NotFoundError{ID: id}
	}
	b, err := os.ReadFile(m.configPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{ID: id}
	}
	return b, err
}

// Start starts the listener's haproxy (master-worker, in the foreground as the agent's
// child) and returns once its stats socket answers.
func (m *Manager) Start(id string) (string, error) {
	l, err := m.lock(id, false)
	if err != nil {
		return "", err
	}
	defer l.mu.Unlock()
	return m.start(l)
}

func (m *Manager) start(l *listener) (string, error) {
	id := l.id
	if l.running() {
		return fmt.Sprintf("haproxy daemon for %s already running (pid %d)", id, l.proc.Pid()), nil
	}
	cfg, err := os.ReadFile(m.configPath(id))
	if err != nil {
		return "", &ActionError{Action: "start", Details: "no haproxy configuration uploaded for " + id}
	}
	if err := m.writeAgentConfig(id, cfg); err != nil {
		return "", err
	}
	if out, err := m.check(id, m.configPath(id)); err != nil {
		return "", &ActionError{Action: "start", Details: out}
	}
	binds := Binds(cfg)
	if err := m.reserve(id, "start", binds, nil, nil); err != nil {
		return "", err
	}
	os.Remove(m.socketPath(id))
	name, args := m.command("-W", "-db", "-f", m.agentCfgPath(id), "-f", m.configPath(id), "-p", m.pidPath(id))
	proc, err := process.Start(name, args, m.logPath(id))
	if err != nil {
		m.setBound(id, nil, nil)
		return "", &ActionError{Action: "start", Details: err.Error()}
	}
	if _, err := m.waitReady(proc, id, 0, "", nil); err != nil {
		proc.Stop(syscall.SIGTERM, stopGrace)
		m.setBound(id, nil, nil)
		os.Remove(m.pidPath(id))
		os.Remove(m.socketPath(id))
		return "", &ActionError{Action: "start", Details: err.Error()}
	}
	m.setBound(id, binds, proc)
	l.proc = proc
	if err := atomicfile.Write(m.wantPath(id), nil, 0o600); err != nil {
		m.cfg.Logger.Warn("haproxy: recording desired state", "listener", id, "err", err)
	}
	m.cfg.Logger.Info("haproxy started", "listener", id, "pid", proc.Pid())
	return fmt.Sprintf("Configuration file is valid\nhaproxy daemon for %s started (pid %d)", id, proc.Pid()), nil
}

// waitReady waits until the master logs a successful load after logOffset and the
// stats socket answers with a worker pid other than oldWorker, or the master exits or
// logs a failed load.
func (m *Manager) waitReady(proc *process.Proc, id string, logOffset int64, oldWorker string, resend func()) (string, error) {
	deadline := time.Now().Add(readyTimeout)
	nextResend := time.Now().Add(time.Second)
	for {
		if resend != nil && time.Now().After(nextResend) {
			resend()
			nextResend = time.Now().Add(time.Second)
		}
		if proc.Exited() {
			return "", fmt.Errorf("haproxy exited: %v\n%s", proc.ExitErr(), process.Tail(m.logPath(id), 4096))
		}
		out := logSince(m.logPath(id), logOffset)
		if strings.Contains(out, "Loading failure") {
			return "", fmt.Errorf("haproxy failed to load the configuration:\n%s", out)
		}
		// The master logs "Loading success" once its new worker runs and it handles
		// signals again; the worker's stats socket then names the new worker.
		if strings.Contains(out, "Loading success") {
			if info, err := ShowInfo(m.socketPath(id), statsTimeout); err == nil && info["Pid"] != oldWorker {
				return info["Pid"], nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("haproxy not ready after %s:\n%s", readyTimeout, process.Tail(m.logPath(id), 4096))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func logSince(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) <= offset || offset < 0 {
		return ""
	}
	return strings.TrimSpace(string(b[offset:]))
}

// Reload makes the running haproxy load the stored configuration without dropping
// connections (SIGUSR2 to the master: a new worker takes the listening sockets over,
// the old one finishes its connections). A stopped listener is started.
func (m *Manager) Reload(id string) (string, error) {
	l, err := m.lock(id, false)
	if err != nil {
		return "", err
	}
	defer l.mu.Unlock()
	if !l.running() {
		return m.start(l)
	}
	cfg, err := os.ReadFile(m.configPath(id))
	if err != nil {
		return "", &ActionError{Action: "reload", Details: "no haproxy configuration uploaded for " + id}
	}
	if err := m.writeAgentConfig(id, cfg); err != nil {
		return "", err
	}
	if out, err := m.check(id, m.configPath(id)); err != nil {
		return "", &ActionError{Action: "reload", Details: out}
	}
	// Until the new worker runs, the old one's addresses stay taken too.
	old, binds := m.boundBy(id), Binds(cfg)
	if err := m.reserve(id, "reload", binds, old, l.proc); err != nil {
		return "", err
	}
	reloaded := false
	defer func() {
		if reloaded {
			m.setBound(id, binds, l.proc)
		} else {
			m.setBound(id, old, l.proc)
		}
	}()
	info, err := ShowInfo(m.socketPath(id), statsTimeout)
	if err != nil {
		return "", &ActionError{Action: "reload", Details: "stats socket: " + err.Error()}
	}
	var offset int64
	if st, err := os.Stat(m.logPath(id)); err == nil {
		offset = st.Size()
	}
	if err := l.proc.Signal(syscall.SIGUSR2); err != nil {
		return "", &ActionError{Action: "reload", Details: err.Error()}
	}
	worker, err := m.waitReady(l.proc, id, offset, info["Pid"], func() {
		// A master still initialising may have dropped the signal: send it again
		// unless it has started reloading.
		if !strings.Contains(logSince(m.logPath(id), offset), "Reloading HAProxy") {
			l.proc.Signal(syscall.SIGUSR2)
		}
	})
	if err != nil {
		return "", &ActionError{Action: "reload", Details: err.Error()}
	}
	reloaded = true
	m.cfg.Logger.Info("haproxy reloaded", "listener", id, "worker", worker)
	return fmt.Sprintf("Listener %s reloaded (worker pid %s)", id, worker), nil
}

// Stop stops the listener's haproxy: a soft stop (listening sockets closed at once,
// connections finished) with escalation after 5 s.
func (m *Manager) Stop(id string) (string, error) {
	l, err := m.lock(id, false)
	if err != nil {
		return "", err
	}
	defer l.mu.Unlock()
	os.Remove(m.wantPath(id))
	return m.stop(l)
}

func (m *Manager) stop(l *listener) (string, error) {
	id := l.id
	if !l.running() {
		l.proc = nil
		m.setBound(id, nil, nil)
		if pid := process.ReadPidFile(m.pidPath(id)); pid > 0 {
			os.Remove(m.pidPath(id))
			os.Remove(m.socketPath(id))
			return "", &ActionError{Action: "stop", Details: fmt.Sprintf("haproxy process with PID %d not found", pid)}
		}
		return fmt.Sprintf("haproxy daemon for %s is not running", id), nil
	}
	if err := l.proc.Stop(syscall.SIGUSR1, stopGrace); err != nil {
		return "", &ActionError{Action: "stop", Details: err.Error()}
	}
	pid := l.proc.Pid()
	l.proc = nil
	m.setBound(id, nil, nil)
	os.Remove(m.pidPath(id))
	os.Remove(m.socketPath(id))
	m.cfg.Logger.Info("haproxy stopped", "listener", id, "pid", pid)
	return fmt.Sprintf("Listener %s stopped", id), nil
}

// Delete stops the listener and removes its configuration, certificates and socket.
func (m *Manager) Delete(id string) error {
	l, err := m.lock(id, false)
	if err != nil {
		return err
	}
	defer l.mu.Unlock()
	if l.running() {
		if _, err := m.stop(l); err != nil {
			return err
		}
	}
	os.Remove(m.socketPath(id))
	if err := os.RemoveAll(m.dir(id)); err != nil {
		return err
	}
	if err := m.cfg.Certs.DeleteListener(id); err != nil {
		return err
	}
	l.deleted = true
	m.mu.Lock()
	delete(m.listeners, id)
	delete(m.bound, id)
	m.mu.Unlock()
	return nil
}

// ListenerStatus is a listener's state for the API.
type ListenerStatus struct {
	ID     string
	Type   string
	Status string // ACTIVE, STOPPED, ERROR
	Pools  []Pool
}

// Status reads a listener's state; with stats, pools and members come from its stats
// socket (an unanswering socket of a running haproxy makes the status ERROR).
func (m *Manager) Status(id string, withStats bool) (*ListenerStatus, error) {
	l, err := m.lock(id, false)
	if err != nil {
		return nil, err
	}
	running := l.running()
	l.mu.Unlock()
	cfg, _ := os.ReadFile(m.configPath(id))
	st := &ListenerStatus{ID: id, Type: ListenerType(cfg, id), Pools: []Pool{}}
	switch {
	case running && withStats:
		rows, err := ShowStat(m.socketPath(id), statsTimeout)
		if err != nil {
			st.Status = StatusError
			break
		}
		st.Status = StatusActive
		st.Pools = Summarize(rows).Pools
	case running:
		st.Status = StatusActive
	case exists(m.pidPath(id)):
		st.Status = StatusError // haproxy died
	default:
		st.Status = StatusStopped
	}
	return st, nil
}

// IDs lists the listeners on this amphora, sorted.
func (m *Manager) IDs() []string {
	seen := map[string]bool{}
	ents, _ := os.ReadDir(m.listenersDir())
	for _, e := range ents {
		if ident.ValidUUID(e.Name()) {
			seen[e.Name()] = true
		}
	}
	socks, _ := os.ReadDir(m.runDir())
	for _, e := range socks {
		if id, ok := strings.CutSuffix(e.Name(), ".sock"); ok && ident.ValidUUID(id) {
			seen[id] = true
		}
	}
	m.mu.Lock()
	for id, l := range m.listeners {
		if !l.deleted && m.known(id) {
			seen[id] = true
		}
	}
	m.mu.Unlock()
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// List returns every listener's status without querying stats.
func (m *Manager) List() []ListenerStatus {
	var out []ListenerStatus
	for _, id := range m.IDs() {
		if st, err := m.Status(id, false); err == nil {
			out = append(out, *st)
		}
	}
	return out
}

// RunningCount is the number of running haproxy processes (one per listener).
func (m *Manager) RunningCount() int {
	n := 0
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.listeners {
		if p := l.proc; p != nil && !p.Exited() {
			n++
		}
	}
	return n
}

// Sample is a running listener's stats and the worker they come from.
type Sample struct {
	Summary
	Worker string
}

// Samples reads the stats of every running listener (for heartbeats).
func (m *Manager) Samples(ctx context.Context) map[string]Sample {
	out := map[string]Sample{}
	m.mu.Lock()
	var ids []string
	for id, l := range m.listeners {
		if p := l.proc; p != nil && !p.Exited() {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		info, err := ShowInfo(m.socketPath(id), statsTimeout)
		if err != nil {
			continue
		}
		rows, err := ShowStat(m.socketPath(id), statsTimeout)
		if err != nil {
			continue
		}
		out[id] = Sample{Summary: Summarize(rows), Worker: info["Pid"]}
	}
	return out
}

// Version is the haproxy version, from the binary ("haproxy -v").
func (m *Manager) Version() (string, error) {
	m.mu.Lock()
	v := m.version
	m.mu.Unlock()
	if v != "" {
		return v, nil
	}
	out, err := exec.Command(m.cfg.Binary, "-v").Output()
	if err != nil {
		return "", fmt.Errorf("%s -v: %w", m.cfg.Binary, err)
	}
	first, _, _ := bytes.Cut(out, []byte("\n"))
	f := strings.Fields(string(first))
	if len(f) < 3 || f[1] != "version" {
		return "", fmt.Errorf("unexpected %s -v output: %q", m.cfg.Binary, first)
	}
	m.mu.Lock()
	m.version = f[2]
	m.mu.Unlock()
	return f[2], nil
}

// Restore runs at agent start: a listener whose haproxy survived the previous agent
// (its pid file names a live haproxy running its configuration) is adopted; a listener
// that was running when the previous agent stopped is started again.
func (m *Manager) Restore() {
	for _, id := range m.IDs() {
		l, err := m.lock(id, false)
		if err != nil {
			continue
		}
		if pid := process.ReadPidFile(m.pidPath(id)); pid > 0 {
			if p := process.Adopt(pid, m.configPath(id)); p != nil {
				l.proc = p
				// What it binds: its configuration as stored (it may have been
				// uploaded since its last reload; the best there is).
				cfg, _ := os.ReadFile(m.configPath(id))
				if err := m.reserve(id, "start", Binds(cfg), nil, p); err != nil {
					m.cfg.Logger.Warn("haproxy adopted with a conflicting address", "listener", id, "err", err, "details", errDetails(err))
					m.setBound(id, Binds(cfg), p)
				}
				m.cfg.Logger.Info("haproxy adopted", "listener", id, "pid", pid)
				l.mu.Unlock()
				continue
			}
			os.Remove(m.pidPath(id))
		}
		if exists(m.wantPath(id)) {
			if _, err := m.start(l); err != nil {
				m.cfg.Logger.Error("haproxy restart failed", "listener", id, "err", err, "details", errDetails(err))
			}
		}
		l.mu.Unlock()
	}
}

func errDetails(err error) string {
	var (
		ae *ActionError
		ce *ConflictError
	)
	switch {
	case errors.As(err, &ae):
		return ae.Details
	case errors.As(err, &ce):
		return ce.Details()
	}
	return ""
}

// Shutdown stops every haproxy (the agent is going away cleanly); each listener keeps
// its desired state, so the next agent's Restore starts it again.
func (m *Manager) Shutdown() {
	m.mu.Lock()
	ls := make([]*listener, 0, len(m.listeners))
	for _, l := range m.listeners {
		ls = append(ls, l)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.running() {
				if _, err := m.stop(l); err != nil {
					m.cfg.Logger.Error("haproxy stop at shutdown", "listener", l.id, "err", err)
				}
			}
		}()
	}
	wg.Wait()
}

// PidOf returns the pid of a listener's running haproxy master (0 if not running).
func (m *Manager) PidOf(id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.listeners[id]; ok && l.proc != nil && !l.proc.Exited() {
		return l.proc.Pid()
	}
	return 0
}
