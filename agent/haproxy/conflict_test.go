package haproxy_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"keel/agent/agenttest"
	"keel/agent/haproxy"
)

// tcpConfig is a listener config binding the given bind line, balancing to backend.
func tcpConfig(listener, bind, backend string) []byte {
	return []byte(fmt.Sprintf(`global
    maxconn 100
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend %s
    bind %s
    default_backend p
backend p
    server m %s
`, listener, bind, backend))
}

// Two listeners on one port both started (haproxy's SO_REUSEPORT let the second bind,
// and the kernel split the port's connections between them): the second is refused
// before it starts, with the address and the listener holding it, and starts once
// that one stops.
func TestSecondListenerOnAPortIsRefused(t *testing.T) {
	m, _ := newManager(t)
	a, b := agenttest.StartBackend(t, "A"), agenttest.StartBackend(t, "B")
	port, other := agenttest.FreePort(t), agenttest.FreePort(t)
	first := agenttest.NewUUID()
	if _, err := m.Upload(first, tcpConfig(first, fmt.Sprintf("127.0.0.1:%d", port), a.Addr)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(first); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, bind string
		conflict   bool
	}{
		{"same address", fmt.Sprintf("127.0.0.1:%d", port), true},
		{"wildcard", fmt.Sprintf(":%d", port), true},
		{"IPv4 wildcard", fmt.Sprintf("0.0.0.0:%d", port), true},
		{"dual-stack wildcard", fmt.Sprintf(":::%d", port), true},
		{"port range", fmt.Sprintf("127.0.0.1:%d-%d", port-1, port+1), true},
		{"second of two addresses", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", other, port), true},
		{"other address", fmt.Sprintf("127.0.0.2:%d", port), false},
		{"other port", fmt.Sprintf("127.0.0.1:%d", other), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			second := agenttest.NewUUID()
			if _, err := m.Upload(second, tcpConfig(second, c.bind, b.Addr)); err != nil {
				t.Fatal(err)
			}
			defer m.Delete(second)
			_, err := m.Start(second)
			var ce *haproxy.ConflictError
			if !c.conflict {
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				return
			}
			if !errors.As(err, &ce) || ce.Other != first || ce.Action != "start" || !strings.Contains(ce.Details(), first) {
				t.Fatalf("start of a second listener on %s: %v", c.bind, err)
			}
			if m.PidOf(second) != 0 {
				t.Fatal("the refused listener runs")
			}
			if st, _ := m.Status(second, false); st.Status != haproxy.StatusStopped {
				t.Fatalf("refused listener: %+v", st)
			}
			// Reload of a stopped listener is a start: refused the same way.
			if _, err := m.Reload(second); !errors.As(err, &ce) {
				t.Fatalf("reload of the refused listener: %v", err)
			}
		})
	}
	// Every connection still reaches the first listener.
	for i := 0; i < 10; i++ {
		if body, err := agenttest.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || body != "A" {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
	}

	// A running listener reloaded with a configuration taking the other's port: refused,
	// and it keeps serving on its own.
	third := agenttest.NewUUID()
	if _, err := m.Upload(third, tcpConfig(third, fmt.Sprintf("127.0.0.1:%d", other), b.Addr)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(third); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Upload(third, tcpConfig(third, fmt.Sprintf("127.0.0.1:%d", port), b.Addr)); err != nil {
		t.Fatal(err)
	}
	var ce *haproxy.ConflictError
	if _, err := m.Reload(third); !errors.As(err, &ce) || ce.Action != "reload" {
		t.Fatalf("reload onto a taken port: %v", err)
	}
	if body, err := agenttest.Get(fmt.Sprintf("http://127.0.0.1:%d/", other)); err != nil || body != "B" {
		t.Fatalf("third listener after the refused reload: %q %v", body, err)
	}

	// Once the first stops, its port is free for the others.
	if _, err := m.Stop(first); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reload(third); err != nil {
		t.Fatalf("reload after the port was freed: %v", err)
	}
	if body, err := agenttest.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || body != "B" {
		t.Fatalf("port after the move: %q %v", body, err)
	}
	// ...and the third's old port is free again: the first can take it.
	if _, err := m.Upload(first, tcpConfig(first, fmt.Sprintf("127.0.0.1:%d", other), a.Addr)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(first); err != nil {
		t.Fatalf("start on the port the reload released: %v", err)
	}
}

// Two listeners on one port started at the same time: exactly one runs.
func TestConcurrentStartsOnOnePort(t *testing.T) {
	m, _ := newManager(t)
	back := agenttest.StartBackend(t, "A")
	port := agenttest.FreePort(t)
	ids := []string{agenttest.NewUUID(), agenttest.NewUUID(), agenttest.NewUUID()}
	for _, id := range ids {
		if _, err := m.Upload(id, tcpConfig(id, fmt.Sprintf(":%d", port), back.Addr)); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = m.Start(id) }()
	}
	wg.Wait()
	started := 0
	for i, err := range errs {
		var ce *haproxy.ConflictError
		switch {
		case err == nil:
			started++
		case !errors.As(err, &ce):
			t.Errorf("start %d: %v", i, err)
		}
	}
	if started != 1 || m.RunningCount() != 1 {
		t.Fatalf("%d listeners started on one port (%d running): %v", started, m.RunningCount(), errs)
	}
}
