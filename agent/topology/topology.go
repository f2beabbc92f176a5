// Package topology owns the amphora's configured topology (SINGLE, ACTIVE-STANDBY,
// ACTIVE-ACTIVE), its role and HA address, persisted in the state directory, and the
// transition gate: while a change is being applied, the status is TOPOLOGY-CHANGE and
// mutating requests are refused (the seed's 503).
package topology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"keel/agent/atomicfile"
)

// Topologies, roles and statuses of the seed.
const (
	Single        = "SINGLE"
	ActiveStandby = "ACTIVE-STANDBY"
	ActiveActive  = "ACTIVE-ACTIVE"
	RoleActive    = "ACTIVE"
	RoleStandby   = "STANDBY"
	StatusOK      = "OK"
	StatusChange  = "TOPOLOGY-CHANGE"
)

// ErrTransitionInProgress: a topology change is being applied.
var ErrTransitionInProgress = errors.New("Topology transition in progress")

// InvalidError: the requested topology does not pass validation; Details says why.
type InvalidError struct{ Details string }

func (e *InvalidError) Error() string { return "Invalid request: " + e.Details }

// State is the configured topology. Secret is stored, never returned by the API.
type State struct {
	Topology string `json:"topology"`
	Role     string `json:"role"`
	HAIP     string `json:"ha_ip"`
	Secret   string `json:"secret,omitempty"`
}

// Request is the POST body.
type Request struct {
	Topology string `json:"topology"`
	Role     string `json:"role"`
	HAIP     string `json:"ha_ip"`
	Secret   string `json:"secret"`
}

// Validate turns a request into a state, or explains what is wrong.
func (r Request) Validate() (State, error) {
	s := State{Topology: r.Topology, Role: r.Role, HAIP: r.HAIP, Secret: r.Secret}
	switch r.Topology {
	case Single, ActiveActive:
		if r.Role != "" && r.Role != RoleActive && r.Role != RoleStandby {
			return s, &InvalidError{Details: "Unknown role: " + r.Role}
		}
		if r.Topology == Single {
			s.Role = RoleActive
		}
		if s.Role == "" {
			s.Role = RoleActive
		}
		if r.HAIP != "" {
			return s, &InvalidError{Details: "ha_ip is only applicable to ACTIVE-STANDBY"}
		}
	case ActiveStandby:
		if r.Role != RoleActive && r.Role != RoleStandby {
			return s, &InvalidError{Details: "Unknown role: " + r.Role}
		}
		ip, err := netip.ParseAddr(r.HAIP)
		if err != nil {
			return s, &InvalidError{Details: fmt.Sprintf("Invalid ha_ip: %q", r.HAIP)}
		}
		s.HAIP = ip.String()
		if r.Secret == "" {
			return s, &InvalidError{Details: "secret is required for ACTIVE-STANDBY"}
		}
	default:
		return s, &InvalidError{Details: "Unknown topology: " + r.Topology}
	}
	return s, nil
}

// Applier carries out a change from one state to another.
type Applier func(ctx context.Context, from, to State) error

// Manager holds the state and runs transitions one at a time.
type Manager struct {
	path  string
	apply Applier

	mu        sync.Mutex
	state     State
	changing  bool
	lastError string
	done      chan struct{}
}

// Load reads the persisted state (SINGLE / ACTIVE when none).
func Load(path string, apply Applier) (*Manager, error) {
	m := &Manager{path: path, apply: apply, state: State{Topology: Single, Role: RoleActive}}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &m.state); err != nil {
			return nil, fmt.Errorf("topology state %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	return m, nil
}

// Get returns the state and the status (OK or TOPOLOGY-CHANGE).
func (m *Manager) Get() (State, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changing {
		return m.state, StatusChange
	}
	return m.state, StatusOK
}

// Changing reports whether a transition is under way.
func (m *Manager) Changing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changing
}

// Set validates req and applies it. It waits up to wait for the transition: done in
// time → completed true; else the transition goes on in the background (the seed's
// 202) and every mutating request meets ErrTransitionInProgress until it ends.
func (m *Manager) Set(req Request, wait time.Duration) (completed bool, err error) {
	to, err := req.Validate()
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	if m.changing {
		m.mu.Unlock()
		return false, ErrTransitionInProgress
	}
	from := m.state
	m.changing = true
	done := make(chan struct{})
	m.done = done
	m.mu.Unlock()

	go func() {
		defer close(done)
		err := m.apply(context.Background(), from, to)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.changing = false
		if err != nil {
			m.lastError = err.Error()
			return
		}
		m.lastError = ""
		if b, merr := json.Marshal(to); merr == nil {
			if werr := atomicfile.Write(m.path, b, 0o600); werr != nil {
				m.lastError = werr.Error()
				return
			}
		}
		m.state = to
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.lastError != "" {
			return true, fmt.Errorf("topology change failed: %s", m.lastError)
		}
		return true, nil
	case <-t.C:
		return false, nil
	}
}

// LastError is why the last transition failed (empty if it did not).
func (m *Manager) LastError() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastError
}

// Wait waits up to timeout for a running transition to end.
func (m *Manager) Wait(timeout time.Duration) bool {
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}
