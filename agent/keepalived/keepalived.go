// Package keepalived owns the amphora's VRRP daemon: the uploaded keepalived
// configuration (checked with keepalived -t before it replaces the previous one) and
// one keepalived process run in the foreground as the agent's child with its own pid
// files, started, reloaded (SIGHUP) and stopped on the controller's request.
package keepalived

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"keel/agent/atomicfile"
	"keel/agent/process"
)

// ConfigError: keepalived -t rejected the configuration; Output is keepalived's.
type ConfigError struct{ Output string }

func (e *ConfigError) Error() string { return "invalid keepalived configuration: " + e.Output }

// UploadError: the configuration could not be stored (the seed's 500).
type UploadError struct{ Err error }

func (e *UploadError) Error() string { return "Failed to upload keepalived configuration." }
func (e *UploadError) Unwrap() error { return e.Err }

// ActionError: start, stop or reload failed.
type ActionError struct {
	Action  string
	Details string
}

func (e *ActionError) Error() string {
	return fmt.Sprintf("Failed to %s keepalived service: %s", e.Action, e.Details)
}

// Config configures a Manager.
type Config struct {
	Binary   string
	StateDir string // files live under <StateDir>/vrrp
	// NetNS, when set, is the network namespace keepalived runs in (keepalived -s).
	NetNS  string
	Logger *slog.Logger
}

// Manager runs keepalived.
type Manager struct {
	cfg  Config
	mu   sync.Mutex
	proc *process.Proc
}

// NewManager prepares <StateDir>/vrrp.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{cfg: cfg}
	if err := os.MkdirAll(m.dir(), 0o700); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) dir() string             { return filepath.Join(m.cfg.StateDir, "vrrp") }
func (m *Manager) configPath() string      { return filepath.Join(m.dir(), "keepalived.conf") }
func (m *Manager) pidPath(n string) string { return filepath.Join(m.dir(), n+".pid") }
func (m *Manager) logPath() string         { return filepath.Join(m.dir(), "keepalived.log") }
func (m *Manager) wantPath() string        { return filepath.Join(m.dir(), "running") }

func (m *Manager) nsArgs() []string {
	if m.cfg.NetNS != "" {
		return []string{"-s", m.cfg.NetNS}
	}
	return nil
}

// Upload checks data with keepalived -t and, if valid, makes it the configuration (a
// running keepalived keeps the old one until reloaded).
func (m *Manager) Upload(data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tmp, err := atomicfile.TempSibling(m.configPath(), data, 0o600)
	if err != nil {
		return &UploadError{Err: err}
	}
	args := append(m.nsArgs(), "-t", "-f", tmp)
	out, err := exec.Command(m.cfg.Binary, args...).CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		text := strings.ReplaceAll(strings.TrimSpace(string(out)), tmp, "keepalived.conf")
		if _, ok := err.(*exec.ExitError); ok {
			return &ConfigError{Output: text}
		}
		return &UploadError{Err: fmt.Errorf("%s -t: %v: %s", m.cfg.Binary, err, text)}
	}
	if err := os.Rename(tmp, m.configPath()); err != nil {
		os.Remove(tmp)
		return &UploadError{Err: err}
	}
	return nil
}

func (m *Manager) running() bool { return m.proc != nil && !m.proc.Exited() }

// Running reports whether keepalived runs.
func (m *Manager) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running()
}

// Pid is the running keepalived's pid (0 if none).
func (m *Manager) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running() {
		return m.proc.Pid()
	}
	return 0
}

// Failed reports why keepalived is not running although the controller started it
// and did not stop it (empty when that is not the case). Heartbeats are withheld then,
// so the controller fails the amphora over.
func (m *Manager) Failed() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := os.Stat(m.wantPath()); err == nil && !m.running() {
		return "keepalived was started but is not running"
	}
	return ""
}

// Start starts keepalived; on a running one it reloads (as upstream).
func (m *Manager) Start() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running() {
		return m.reload()
	}
	return m.start()
}

func (m *Manager) start() (string, error) {
	if _, err := os.Stat(m.configPath()); err != nil {
		return "", &ActionError{Action: "start", Details: "no keepalived configuration uploaded"}
	}
	args := append(m.nsArgs(), "-n", "-l", "-D", "-G", "-f", m.configPath(),
		"-p", m.pidPath("keepalived"), "-r", m.pidPath("vrrp"), "-c", m.pidPath("checkers"), "-b", m.pidPath("bfd"))
	proc, err := process.Start(m.cfg.Binary, args, m.logPath())
	if err != nil {
		return "", &ActionError{Action: "start", Details: err.Error()}
	}
	deadline := time.Now().Add(10 * time.Second)
	for process.ReadPidFile(m.pidPath("keepalived")) != proc.Pid() || !strings.Contains(process.Tail(m.logPath(), 1<<16), "Startup complete") {
		if proc.Exited() || time.Now().After(deadline) {
			proc.Stop(syscall.SIGTERM, 2*time.Second)
			return "", &ActionError{Action: "start", Details: "keepalived did not start: " + process.Tail(m.logPath(), 4096)}
		}
		time.Sleep(25 * time.Millisecond)
	}
	m.proc = proc
	if err := atomicfile.Write(m.wantPath(), nil, 0o600); err != nil {
		m.cfg.Logger.Warn("keepalived: recording desired state", "err", err)
	}
	m.cfg.Logger.Info("keepalived started", "pid", proc.Pid())
	return "keepalived started", nil
}

// Reload makes keepalived re-read its configuration (SIGHUP); a stopped one is started.
func (m *Manager) Reload() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running() {
		return m.start()
	}
	return m.reload()
}

func (m *Manager) reload() (string, error) {
	if err := m.proc.Signal(syscall.SIGHUP); err != nil {
		return "", &ActionError{Action: "reload", Details: err.Error()}
	}
	if m.proc.Wait(200 * time.Millisecond) {
		return "", &ActionError{Action: "reload", Details: "keepalived exited: " + process.Tail(m.logPath(), 4096)}
	}
	return "keepalived reloaded", nil
}

// Stop stops keepalived (SIGTERM, which makes it release its VIPs).
func (m *Manager) Stop() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	os.Remove(m.wantPath())
	return m.stop()
}

func (m *Manager) stop() (string, error) {
	if !m.running() {
		m.proc = nil
		if pid := process.ReadPidFile(m.pidPath("keepalived")); pid > 0 {
			os.Remove(m.pidPath("keepalived"))
			return "", &ActionError{Action: "stop", Details: fmt.Sprintf("keepalived process with PID %d not found", pid)}
		}
		return "keepalived is not running", nil
	}
	if err := m.proc.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
		return "", &ActionError{Action: "stop", Details: err.Error()}
	}
	m.proc = nil
	for _, n := range []string{"keepalived", "vrrp", "checkers", "bfd"} {
		os.Remove(m.pidPath(n))
	}
	m.cfg.Logger.Info("keepalived stopped")
	return "keepalived stopped", nil
}

// Restore adopts a keepalived left running by a previous agent, or starts it again
// if it was running when that agent stopped.
func (m *Manager) Restore() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pid := process.ReadPidFile(m.pidPath("keepalived")); pid > 0 {
		if p := process.Adopt(pid, m.configPath()); p != nil {
			m.proc = p
			m.cfg.Logger.Info("keepalived adopted", "pid", pid)
			return
		}
		os.Remove(m.pidPath("keepalived"))
	}
	if _, err := os.Stat(m.wantPath()); err == nil {
		if _, err := m.start(); err != nil {
			m.cfg.Logger.Error("keepalived restart failed", "err", err)
		}
	}
}

// Shutdown stops keepalived, keeping its desired state for the next agent.
func (m *Manager) Shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running() {
		if _, err := m.stop(); err != nil {
			m.cfg.Logger.Error("keepalived stop at shutdown", "err", err)
		}
	}
}

// Configured reports whether a configuration has been uploaded.
func (m *Manager) Configured() bool {
	_, err := os.Stat(m.configPath())
	return err == nil
}
