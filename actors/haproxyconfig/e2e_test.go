package haproxyconfig_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"keel/actors/haproxyconfig"
	"keel/agent/haproxy"
	"keel/store/storepb"
)

// testBackend is a loopback HTTP server answering its name; /health answers 200
// and is not counted as traffic.
type testBackend struct {
	name string
	srv  *httptest.Server
	hits atomic.Int64
}

func startBackend(t *testing.T, name string) *testBackend {
	b := &testBackend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			io.WriteString(w, "ok")
			return
		}
		b.hits.Add(1)
		io.WriteString(w, name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBackend) port(t *testing.T) int32 {
	_, p, err := net.SplitHostPort(b.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	fmt.Sscan(p, &n)
	return n
}

func freePort(t *testing.T) int32 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// startHaproxy runs haproxy in the foreground (-db) on the rendering, after the
// agent's own section (stats socket) as keel-agent does, in its own process group;
// it is stopped and reaped at cleanup. It returns the stats socket.
func startHaproxy(t *testing.T, cfg []byte) string {
	bin := needHaproxy(t)
	agentCfg, listenerCfg, socket := writeConfigs(t, cfg)
	logPath := filepath.Join(filepath.Dir(listenerCfg), "haproxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", agentCfg, "-f", listenerCfg)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("haproxy's output:\n%s\nconfiguration:\n%s", out, numbered(cfg))
		}
	})
	eventually(t, 10*time.Second, "haproxy's stats socket", func() bool {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("haproxy exited:\n%s", out)
		default:
		}
		_, err := haproxy.ShowStat(socket, time.Second)
		return err == nil
	})
	return socket
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// memberStatuses reads haproxy's view of the members, as the agent reports them
// (pool and member ids come back from the backend and server names).
func memberStatuses(t *testing.T, socket string) map[string]string {
	rows, err := haproxy.ShowStat(socket, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range haproxy.Summarize(rows).Pools {
		out[p.ID] = p.Status
		for _, m := range p.Members {
			out[m.ID] = m.Raw
		}
	}
	return out
}

var client = &http.Client{
	Timeout:       3 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type answer struct {
	status   int
	body     string
	location string
}

func get(t *testing.T, url string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(body), resp.Header.Get("Location")}
}

// TestEndToEnd runs real haproxy on a rendering and checks what clients see:
// round robin alternates, a disabled member gets nothing, L7 REJECT answers 403 (also
// on values full of haproxy syntax, matched literally), a redirect answers 302 with
// its Location byte for byte, REDIRECT_TO_POOL switches pools, and the HTTP health
// monitor takes a stopped member out.
func TestEndToEnd(t *testing.T) {
	needHaproxy(t)
	a, b, c, d := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "C"), startBackend(t, "D")
	const memberC = "3a000000-0000-4000-8000-0000000000a3"
	const evil = `a'b#c"d\e${HOME}%[src]--`
	const location = "http://example.com/new%20place?q='x'&r=%25"

	tr := baseTree()
	port := freePort(t)
	listener(tr).ProtocolPort = port
	member(tr, memberA1).ProtocolPort = a.port(t)
	member(tr, memberA2).ProtocolPort = b.port(t)
	member(tr, memberB1).ProtocolPort = d.port(t)
	tr.Members = append(tr.Members, &storepb.Member{Id: memberC, PoolId: poolA, AdminStateUp: false, ProvisioningStatus: "ACTIVE",
		Address: "127.0.0.1", ProtocolPort: c.port(t), Weight: 1, CreatedAt: 4})
	withMonitor(tr, &storepb.HealthMonitor{Id: monitorA, PoolId: poolA, AdminStateUp: true, ProvisioningStatus: "ACTIVE",
		Type: "HTTP", Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 1, HttpMethod: "GET", UrlPath: "/health",
		ExpectedCodes: "200-204", HttpVersion: "1.1", DomainName: "health.example.com"})
	addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
		pathRule(rule1, "STARTS_WITH", "/forbidden"))
	addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: true, Action: "REDIRECT_TO_URL", RedirectUrl: location, Position: 2},
		pathRule(rule2, "EQUAL_TO", "/old"))
	addPolicy(tr, &storepb.L7Policy{Id: policy3, AdminStateUp: true, Action: "REJECT", Position: 3},
		&storepb.L7Rule{Id: rule3, AdminStateUp: true, Type: "HEADER", Key: "X-Evil", CompareType: "EQUAL_TO", Value: evil},
		&storepb.L7Rule{Id: rule5, AdminStateUp: true, Type: "HEADER", Key: "X-Quoted", CompareType: "EQUAL_TO", Value: `"bad agent"`})
	addPolicy(tr, &storepb.L7Policy{Id: policy4, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolB, Position: 4},
		pathRule(rule4, "STARTS_WITH", "/d/"))
	if err := haproxyconfig.Check(tr); err != nil {
		t.Fatal(err)
	}
	cfg, err := render(t, tr)
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, cfg)
	socket := startHaproxy(t, cfg)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	// The checks (Host header, range of codes) find A and B up; C is in maintenance.
	eventually(t, 10*time.Second, "A and B up, C in maintenance", func() bool {
		s := memberStatuses(t, socket)
		return s[memberA1] == "UP" && s[memberA2] == "UP" && s[memberC] == "MAINT"
	})

	// Round robin alternates between A and B; C gets nothing.
	var seq []string
	for i := 0; i < 8; i++ {
		ans := get(t, base+"/", nil)
		if ans.status != 200 {
			t.Fatalf("GET /: %+v", ans)
		}
		seq = append(seq, ans.body)
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] == seq[i-1] || (seq[i] != "A" && seq[i] != "B") {
			t.Fatalf("round robin does not alternate between A and B: %v", seq)
		}
	}
	if c.hits.Load() != 0 {
		t.Fatalf("the disabled member got %d requests", c.hits.Load())
	}

	// L7: REJECT, redirect, literal matching of quoted values, pool switch.
	if ans := get(t, base+"/forbidden/x", nil); ans.status != 403 {
		t.Errorf("REJECT: %+v, want 403", ans)
	}
	if ans := get(t, base+"/old", nil); ans.status != 302 || ans.location != location {
		t.Errorf("REDIRECT_TO_URL: %+v, want 302 to %s", ans, location)
	}
	if ans := get(t, base+"/old/x", nil); ans.status != 200 {
		t.Errorf("EQUAL_TO matched a longer path: %+v", ans)
	}
	if ans := get(t, base+"/", map[string]string{"X-Evil": evil, "X-Quoted": "bad agent"}); ans.status != 403 {
		t.Errorf("headers with haproxy syntax not matched literally: %+v", ans)
	}
	for _, h := range []map[string]string{
		{"X-Evil": evil}, // both rules must match
		{"X-Evil": evil + "x", "X-Quoted": "bad agent"}, // not equal
		{"X-Evil": evil, "X-Quoted": `"bad agent"`},     // the quotes are not part of the value
		{"X-Evil": "a'b#c", "X-Quoted": "bad agent"},    // '#' did not start a comment
	} {
		if ans := get(t, base+"/", h); ans.status != 200 {
			t.Errorf("headers %v: %+v, want 200", h, ans)
		}
	}
	if ans := get(t, base+"/d/x", nil); ans.status != 200 || ans.body != "D" {
		t.Errorf("REDIRECT_TO_POOL: %+v, want D", ans)
	}
	if ans := get(t, base+"/forbidden", map[string]string{}); ans.status != 403 {
		t.Errorf("position 1 decides before position 4: %+v", ans)
	}

	// The health monitor takes a stopped member out; all traffic goes to A.
	b.srv.Close()
	stopped := time.Now()
	eventually(t, 10*time.Second, "B marked DOWN by the health monitor", func() bool {
		return memberStatuses(t, socket)[memberA2] == "DOWN"
	})
	t.Logf("round robin: %v; B marked down %s after it stopped", seq, time.Since(stopped).Round(time.Millisecond))
	for i := 0; i < 6; i++ {
		if ans := get(t, base+"/", nil); ans.status != 200 || ans.body != "A" {
			t.Fatalf("with B down: %+v, want A", ans)
		}
	}
	if s := memberStatuses(t, socket); s[poolA] != haproxy.StatusDegraded {
		t.Errorf("pool status %q with one member down, want %s", s[poolA], haproxy.StatusDegraded)
	}
}

// TestEndToEndNoDefaultPool: without a default pool a request no policy sends
// elsewhere gets 503.
func TestEndToEndNoDefaultPool(t *testing.T) {
	needHaproxy(t)
	tr := baseTree()
	port := freePort(t)
	listener(tr).ProtocolPort, listener(tr).DefaultPoolId = port, ""
	cfg, err := render(t, tr)
	if err != nil {
		t.Fatal(err)
	}
	startHaproxy(t, cfg)
	if ans := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port), nil); ans.status != 503 {
		t.Fatalf("no default pool: %+v, want 503", ans)
	}
}

// TestEndToEndTCPInspection: on a TCP listener, L7 policies read the start of the
// stream (timeout_tcp_inspect): REJECT closes the connection, REDIRECT_TO_POOL
// switches pools, and SOURCE_IP persistence keeps a client on one member.
func TestEndToEndTCPInspection(t *testing.T) {
	needHaproxy(t)
	a, b, d := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "D")
	tr := baseTree()
	port := freePort(t)
	l := listener(tr)
	l.Protocol, l.ProtocolPort, l.TimeoutTcpInspect = "TCP", port, 2000
	pool(tr, poolA).Protocol, pool(tr, poolB).Protocol = "TCP", "TCP"
	pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "SOURCE_IP"}
	member(tr, memberA1).ProtocolPort = a.port(t)
	member(tr, memberA2).ProtocolPort = b.port(t)
	member(tr, memberB1).ProtocolPort = d.port(t)
	addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
		&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "HOST_NAME", CompareType: "EQUAL_TO", Value: "bad.example.com"})
	addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolB, Position: 2},
		&storepb.L7Rule{Id: rule2, AdminStateUp: true, Type: "HOST_NAME", CompareType: "ENDS_WITH", Value: ".d.example.com"})
	if err := haproxyconfig.Check(tr); err != nil {
		t.Fatal(err)
	}
	cfg, err := render(t, tr)
	if err != nil {
		t.Fatal(err)
	}
	mustValidate(t, cfg)
	startHaproxy(t, cfg)
	base := fmt.Sprintf("http://127.0.0.1:%d/", port)

	host := func(h string) (answer, error) {
		req, _ := http.NewRequest("GET", base, nil)
		req.Host = h
		resp, err := client.Do(req)
		if err != nil {
			return answer{}, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, body: string(body)}, nil
	}
	if ans, err := host("x.d.example.com"); err != nil || ans.body != "D" {
		t.Errorf("REDIRECT_TO_POOL on TCP: %+v %v, want D", ans, err)
	}
	if ans, err := host("bad.example.com"); err == nil {
		t.Errorf("REJECT on TCP: the connection was served: %+v", ans)
	}
	// SOURCE_IP persistence: every connection from 127.0.0.1 lands on one member.
	first, err := host("www.example.com")
	if err != nil || (first.body != "A" && first.body != "B") {
		t.Fatalf("default pool: %+v %v", first, err)
	}
	for i := 0; i < 5; i++ {
		if ans, err := host("www.example.com"); err != nil || ans.body != first.body {
			t.Fatalf("SOURCE_IP persistence: %+v %v, want %s", ans, err, first.body)
		}
	}
}
