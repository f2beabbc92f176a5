package agenttest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Backend is a loopback HTTP server answering every request with its name.
type Backend struct {
	Name string
	Addr string // 127.0.0.1:port
	srv  *http.Server
	once sync.Once
}

// StartBackend starts a backend; it is stopped at cleanup.
func StartBackend(t testing.TB, name string) *Backend {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{Name: name, Addr: l.Addr().String()}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}), ReadHeaderTimeout: 5 * time.Second}
	go b.srv.Serve(l)
	t.Cleanup(b.Stop)
	return b
}

// Stop closes the backend's socket and connections.
func (b *Backend) Stop() { b.once.Do(func() { b.srv.Close() }) }

// Get sends one HTTP GET with a fresh connection and returns the body.
func Get(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

// PortClosed reports whether nothing accepts connections on addr.
func PortClosed(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// Eventually polls cond every 50 ms until it is true or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HTTPConfig is an haproxy configuration for one HTTP listener on 127.0.0.1:port
// balancing (round robin, health-checked every 200 ms) across the given backends:
// frontend = listener UUID, backend = "<pool UUID>:<listener UUID>", server = member
// UUID, as keel renders them.
func HTTPConfig(listenerID, poolID string, port int, members map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Configuration for listener %s
global
    daemon
    maxconn 1000

defaults
    mode http
    retries 3
    option redispatch
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend %s
    bind 127.0.0.1:%d
    default_backend %s:%s

backend %s:%s
    balance roundrobin
`, listenerID, listenerID, port, poolID, listenerID, poolID, listenerID)
	ids := make([]string, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "    server %s %s check inter 200ms fall 2 rise 2\n", id, members[id])
	}
	return b.String()
}

// NeedCommand fails the test when a command it needs is missing (never skips),
// because the agent's tests run real haproxy, keepalived and ip.
func NeedCommand(t testing.TB, path string) {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("%s is required (make deps installs it): %v", path, err)
	}
}
