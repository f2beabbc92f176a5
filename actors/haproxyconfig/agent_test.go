package haproxyconfig_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"keel/agent/certs"
	"keel/agent/haproxy"
	"keel/store/storepb"
)

// TestAgentRunsRendering hands renderings to keel-agent's listener manager, as the
// amphora driver will through the agent API: the upload passes the agent's check,
// haproxy starts in master-worker mode, the agent reads the listener's type and its
// pool and members by id, and a changed rendering (an added member, another
// algorithm) is live after a reload.
func TestAgentRunsRendering(t *testing.T) {
	bin := needHaproxy(t)
	state, err := os.MkdirTemp("", "keelhxagent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	store, err := certs.NewStore(filepath.Join(state, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := haproxy.NewManager(haproxy.Config{Binary: bin, StateDir: state, Certs: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Shutdown)

	a, b := startBackend(t, "A"), startBackend(t, "B")
	tr := baseTree()
	port := freePort(t)
	listener(tr).ProtocolPort = port
	member(tr, memberA1).ProtocolPort = a.port(t)
	tr.Members = []*storepb.Member{member(tr, memberA1)}
	withMonitor(tr, &storepb.HealthMonitor{Id: monitorA, PoolId: poolA, AdminStateUp: true, Type: "TCP",
		Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 1})
	apply := func() {
		t.Helper()
		cfg, err := render(t, tr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Upload(lisID, cfg); err != nil {
			t.Fatalf("the agent refused the rendering: %v\n%s", err, numbered(cfg))
		}
	}
	status := func() map[string]string {
		st, err := m.Status(lisID, true)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{"listener": st.Status, "type": st.Type}
		for _, p := range st.Pools {
			out[p.ID] = p.Status
			for _, mem := range p.Members {
				out[mem.ID] = mem.Status
			}
		}
		return out
	}
	apply()
	if _, err := m.Start(lisID); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	eventually(t, 10*time.Second, "listener ACTIVE, pool and member UP by id", func() bool {
		s := status()
		return s["listener"] == "ACTIVE" && s["type"] == haproxy.TypeHTTP && s[poolA] == "UP" && s[memberA1] == "UP"
	})
	if ans := get(t, url, nil); ans.body != "A" {
		t.Fatalf("before the change: %+v", ans)
	}

	// A second member and another algorithm, live after a reload.
	tr.Members = append(tr.Members, &storepb.Member{Id: memberA2, PoolId: poolA, AdminStateUp: true,
		ProvisioningStatus: "ACTIVE", Address: "127.0.0.1", ProtocolPort: b.port(t), Weight: 1, CreatedAt: 2})
	pool(tr, poolA).LbAlgorithm = "LEAST_CONNECTIONS"
	apply()
	if _, err := m.Reload(lisID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "both members UP after the reload", func() bool {
		s := status()
		return s[memberA1] == "UP" && s[memberA2] == "UP"
	})
	seen := map[string]bool{}
	for i := 0; i < 20 && len(seen) < 2; i++ {
		seen[get(t, url, nil).body] = true
	}
	if !seen["A"] || !seen["B"] {
		t.Fatalf("after the reload the backends seen are %v", seen)
	}
}
