package haproxyconfig_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/actors/haproxyconfig"
	"keel/agent/haproxy"
	"keel/store/storepb"
)

// haproxyBinary is where Debian (and .ci/deps.sh) installs haproxy.
const haproxyBinary = "/usr/sbin/haproxy"

// needHaproxy fails (never skips) without haproxy: every rendering is validated by
// the real parser, and CI installs it.
func needHaproxy(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(haproxyBinary); err == nil {
		return haproxyBinary
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	t.Fatalf("haproxy is required by these tests and was not found: install it (apt-get install haproxy, or make deps, which runs .ci/deps.sh)")
	return ""
}

// writeConfigs writes the rendering and the agent's own section (agent.cfg, as
// keel-agent writes it) to a fresh directory and returns both paths and the stats
// socket's.
func writeConfigs(t testing.TB, cfg []byte) (agentCfg, listenerCfg, socket string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "keelhxcfg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket = filepath.Join(dir, "stats.sock")
	agentCfg, listenerCfg = filepath.Join(dir, "agent.cfg"), filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(agentCfg, haproxy.AgentConfig(cfg, socket, dir), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(listenerCfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return agentCfg, listenerCfg, socket
}

// haproxyCheck runs `haproxy -c` as the agent does on upload.
func haproxyCheck(t testing.TB, cfg []byte) (string, error) {
	t.Helper()
	bin := needHaproxy(t)
	agentCfg, listenerCfg, _ := writeConfigs(t, cfg)
	out, err := exec.Command(bin, "-c", "-f", agentCfg, "-f", listenerCfg).CombinedOutput()
	return string(out), err
}

// mustValidate fails unless haproxy accepts cfg without a warning (a warning is
// haproxy ignoring or second-guessing something the rendering asked for).
func mustValidate(t testing.TB, cfg []byte) {
	t.Helper()
	out, err := haproxyCheck(t, cfg)
	if err != nil || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ALERT]") {
		t.Fatalf("haproxy -c: %v\n%s\nconfiguration:\n%s", err, out, numbered(cfg))
	}
}

func numbered(cfg []byte) string {
	var b strings.Builder
	for i, l := range strings.Split(string(cfg), "\n") {
		fmt.Fprintf(&b, "%3d %s\n", i+1, l)
	}
	return b.String()
}

// Ids of the fixture.
const (
	lbID       = "8c1b6f3e-4d2a-4b7e-9f10-2a3b4c5d6e01"
	lisID      = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a02"
	poolA      = "2a2a2a2a-0000-4000-8000-00000000000a"
	poolB      = "2b2b2b2b-0000-4000-8000-00000000000b"
	memberA1   = "3a000000-0000-4000-8000-0000000000a1"
	memberA2   = "3a000000-0000-4000-8000-0000000000a2"
	memberB1   = "3b000000-0000-4000-8000-0000000000b1"
	monitorA   = "4a000000-0000-4000-8000-00000000000a"
	policy1    = "5a000000-0000-4000-8000-000000000001"
	policy2    = "5a000000-0000-4000-8000-000000000002"
	policy3    = "5a000000-0000-4000-8000-000000000003"
	policy4    = "5a000000-0000-4000-8000-000000000004"
	rule1      = "6a000000-0000-4000-8000-000000000001"
	rule2      = "6a000000-0000-4000-8000-000000000002"
	rule3      = "6a000000-0000-4000-8000-000000000003"
	rule4      = "6a000000-0000-4000-8000-000000000004"
	rule5      = "6a000000-0000-4000-8000-000000000005"
	fixtureVIP = "127.0.0.1"
)

// baseTree is an HTTP listener on 127.0.0.1:8080 whose default pool A (HTTP,
// ROUND_ROBIN) has two members; pool B (one member) exists but is not used.
func baseTree() *storepb.Tree {
	return &storepb.Tree{
		LoadBalancer: &storepb.LoadBalancer{Id: lbID, AdminStateUp: true, ProvisioningStatus: "ACTIVE",
			VipAddress: fixtureVIP, Topology: "SINGLE"},
		Listeners: []*storepb.Listener{{Id: lisID, LoadbalancerId: lbID, AdminStateUp: true, ProvisioningStatus: "ACTIVE",
			Protocol: "HTTP", ProtocolPort: 8080, ConnectionLimit: -1, DefaultPoolId: poolA, ClientAuthentication: "NONE",
			TimeoutClientData: 50000, TimeoutMemberConnect: 5000, TimeoutMemberData: 50000}},
		Pools: []*storepb.Pool{
			{Id: poolA, LoadbalancerId: lbID, AdminStateUp: true, ProvisioningStatus: "ACTIVE", Protocol: "HTTP", LbAlgorithm: "ROUND_ROBIN"},
			{Id: poolB, LoadbalancerId: lbID, AdminStateUp: true, ProvisioningStatus: "ACTIVE", Protocol: "HTTP", LbAlgorithm: "ROUND_ROBIN"},
		},
		Members: []*storepb.Member{
			{Id: memberA1, PoolId: poolA, AdminStateUp: true, ProvisioningStatus: "ACTIVE", Address: "127.0.0.1", ProtocolPort: 9001, Weight: 1, CreatedAt: 1},
			{Id: memberA2, PoolId: poolA, AdminStateUp: true, ProvisioningStatus: "ACTIVE", Address: "127.0.0.1", ProtocolPort: 9002, Weight: 1, CreatedAt: 2},
			{Id: memberB1, PoolId: poolB, AdminStateUp: true, ProvisioningStatus: "ACTIVE", Address: "127.0.0.1", ProtocolPort: 9003, Weight: 1, CreatedAt: 3},
		},
	}
}

func listener(t *storepb.Tree) *storepb.Listener { return t.Listeners[0] }

func pool(t *storepb.Tree, id string) *storepb.Pool {
	for _, p := range t.Pools {
		if p.Id == id {
			return p
		}
	}
	panic("no pool " + id)
}

func member(t *storepb.Tree, id string) *storepb.Member {
	for _, m := range t.Members {
		if m.Id == id {
			return m
		}
	}
	panic("no member " + id)
}

func httpMonitor() *storepb.HealthMonitor {
	return &storepb.HealthMonitor{Id: monitorA, PoolId: poolA, AdminStateUp: true, ProvisioningStatus: "ACTIVE",
		Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 2, MaxRetriesDown: 3,
		HttpMethod: "GET", UrlPath: "/", ExpectedCodes: "200"}
}

func withMonitor(t *storepb.Tree, hm *storepb.HealthMonitor) {
	t.HealthMonitors = append(t.HealthMonitors, hm)
}

func addPolicy(t *storepb.Tree, p *storepb.L7Policy, rules ...*storepb.L7Rule) {
	p.ListenerId, p.LoadbalancerId = lisID, lbID
	if p.ProvisioningStatus == "" {
		p.ProvisioningStatus = "ACTIVE"
	}
	t.L7Policies = append(t.L7Policies, p)
	for _, r := range rules {
		r.L7PolicyId, r.ListenerId, r.LoadbalancerId = p.Id, lisID, lbID
		if r.ProvisioningStatus == "" {
			r.ProvisioningStatus = "ACTIVE"
		}
		t.L7Rules = append(t.L7Rules, r)
	}
}

func pathRule(id, compare, value string) *storepb.L7Rule {
	return &storepb.L7Rule{Id: id, AdminStateUp: true, Type: "PATH", CompareType: compare, Value: value}
}

// render renders the fixture's listener.
func render(t testing.TB, tree *storepb.Tree) ([]byte, error) {
	t.Helper()
	v, err := haproxyconfig.ViewOf(tree, lisID)
	if err != nil {
		t.Fatal(err)
	}
	return haproxyconfig.Render(v)
}

func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }

// TestValidatorCatchesProblems: the harness itself sees haproxy's errors and
// warnings, so a passing rendering test means something.
func TestValidatorCatchesProblems(t *testing.T) {
	if out, err := haproxyCheck(t, []byte("defaults\n    bogus_keyword 1\n")); err == nil {
		t.Fatalf("an unknown keyword passed haproxy -c:\n%s", out)
	}
	// A cookie in a TCP backend is a warning (haproxy ignores it), which
	// mustValidate refuses.
	cfg := "defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    default_backend b\n" +
		"backend b\n    mode tcp\n    cookie SRV insert\n    server s 127.0.0.1:2\n"
	out, err := haproxyCheck(t, []byte(cfg))
	if err != nil || !strings.Contains(out, "[WARNING]") {
		t.Fatalf("expected a warning and success: %v\n%s", err, out)
	}
}
