package haproxy_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keel/agent/agenttest"
	"keel/agent/certs"
	"keel/agent/haproxy"
)

const (
	listenerID = "e2dfddc0-5b9e-11e4-8ed6-0800200c9a66"
	poolID     = "399bbf4b-5f6c-4370-a61e-ed2ff2fc9387"
	memberA    = "73f6d278-ae1c-4248-ad02-0bfd50d69aab"
	memberB    = "2edca57c-5890-4bcb-ae67-4ef75776cc67"
)

func newManager(t *testing.T) (*haproxy.Manager, string) {
	agenttest.NeedCommand(t, "/usr/sbin/haproxy")
	state, err := os.MkdirTemp("", "keelhx")
	if err != nil {
		t.Fatal(err)
	}
	store, err := certs.NewStore(filepath.Join(state, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := haproxy.NewManager(haproxy.Config{Binary: "/usr/sbin/haproxy", StateDir: state, Certs: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(); os.RemoveAll(state) })
	return m, state
}

func memberStatus(t *testing.T, m *haproxy.Manager) map[string]string {
	st, err := m.Status(listenerID, true)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"listener": st.Status}
	for _, p := range st.Pools {
		out[p.ID] = p.Status
		for _, mem := range p.Members {
			out[mem.ID] = mem.Status
		}
	}
	return out
}

func TestManagerLifecycle(t *testing.T) {
	m, state := newManager(t)
	a, b := agenttest.StartBackend(t, "A"), agenttest.StartBackend(t, "B")
	port := agenttest.FreePort(t)
	cfg := agenttest.HTTPConfig(listenerID, poolID, port, map[string]string{memberA: a.Addr, memberB: b.Addr})

	// An invalid configuration is refused with haproxy's output, nothing is left.
	_, err := m.Upload(listenerID, []byte("global\n    BAD_LINE\n"))
	var ce *haproxy.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Output, "BAD_LINE") || !strings.Contains(ce.Output, "haproxy.cfg:2") {
		t.Fatalf("bad upload: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, "listeners", listenerID)); !os.IsNotExist(err) {
		t.Fatalf("invalid upload left a listener dir: %v", err)
	}
	var nf *haproxy.NotFoundError
	if _, err := m.Status(listenerID, true); !errors.As(err, &nf) {
		t.Fatalf("status of unknown listener: %v", err)
	}

	if _, err := m.Upload(listenerID, []byte(cfg)); err != nil {
		t.Fatal(err)
	}
	// A later invalid upload leaves the previous configuration in place.
	if _, err := m.Upload(listenerID, []byte(cfg+"\nBAD_LINE\n")); !errors.As(err, &ce) {
		t.Fatalf("second bad upload: %v", err)
	}
	if got, _ := m.Config(listenerID); string(got) != cfg {
		t.Fatalf("stored config changed after a refused upload")
	}
	if st, _ := m.Status(listenerID, true); st.Status != haproxy.StatusStopped || st.Type != haproxy.TypeHTTP {
		t.Fatalf("before start: %+v", st)
	}

	details, err := m.Start(listenerID)
	if err != nil || !strings.Contains(details, "started") {
		t.Fatalf("start: %q %v", details, err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	seen := map[string]bool{}
	for i := 0; i < 20 && len(seen) < 2; i++ {
		body, err := agenttest.Get(url)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		seen[body] = true
	}
	if !seen["A"] || !seen["B"] {
		t.Fatalf("backends seen: %v", seen)
	}
	agenttest.Eventually(t, 10*time.Second, "both members UP", func() bool {
		s := memberStatus(t, m)
		return s[memberA] == "UP" && s[memberB] == "UP" && s[poolID] == "UP" && s["listener"] == "ACTIVE"
	})

	b.Stop()
	agenttest.Eventually(t, 10*time.Second, "member B DOWN, pool DEGRADED", func() bool {
		s := memberStatus(t, m)
		return s[memberA] == "UP" && s[memberB] == "DOWN" && s[poolID] == "DEGRADED"
	})

	// Seamless reload: requests keep succeeding while the worker is replaced.
	var failures, done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := agenttest.Get(url); err != nil {
				failures.Add(1)
			}
			done.Add(1)
		}
	}()
	pidBefore := m.PidOf(listenerID)
	for i := 0; i < 3; i++ {
		if d, err := m.Reload(listenerID); err != nil || !strings.Contains(d, "reloaded") {
			t.Fatalf("reload %d: %q %v", i, d, err)
		}
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || done.Load() == 0 {
		t.Fatalf("%d of %d requests failed across reloads", failures.Load(), done.Load())
	}
	if m.PidOf(listenerID) != pidBefore {
		t.Fatalf("reload replaced the master process")
	}

	if d, err := m.Stop(listenerID); err != nil || !strings.Contains(d, "stopped") {
		t.Fatalf("stop: %q %v", d, err)
	}
	if !agenttest.PortClosed(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatal("port still open after stop")
	}
	if d, err := m.Stop(listenerID); err != nil || !strings.Contains(d, "not running") {
		t.Fatalf("second stop: %q %v", d, err)
	}
	if _, err := m.Reload(listenerID); err != nil { // reload of a stopped listener starts it
		t.Fatal(err)
	}
	if err := m.Delete(listenerID); err != nil {
		t.Fatal(err)
	}
	if !agenttest.PortClosed(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatal("port still open after delete")
	}
	if _, err := m.Config(listenerID); !errors.As(err, &nf) {
		t.Fatalf("config after delete: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(state, "run")); len(ents) != 0 {
		t.Fatalf("sockets left: %v", ents)
	}
}
