package agent_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keel/agent/agentclient"
	"keel/agent/agenttest"
	"keel/agent/heartbeat"
)

var agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keel-agent-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin, err = agenttest.BuildAgent(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiErr asserts err is an agent error with that status and message.
func apiErr(t *testing.T, err error, status int, message string) *agentclient.APIError {
	t.Helper()
	var e *agentclient.APIError
	if !errors.As(err, &e) || e.Status != status || e.Message != message {
		t.Fatalf("got %v, want %d %q", err, status, message)
	}
	return e
}

func TestListenerOnRealHAProxy(t *testing.T) {
	collector := agenttest.NewCollector(t, "lb-key")
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{Controllers: []string{collector.Addr},
		HeartbeatKey: "lb-key", HeartbeatInterval: 300 * time.Millisecond})
	c := a.Client
	listener, pool := agenttest.NewUUID(), agenttest.NewUUID()
	memberA, memberB := agenttest.NewUUID(), agenttest.NewUUID()
	backA, backB := agenttest.StartBackend(t, "A"), agenttest.StartBackend(t, "B")
	port := agenttest.FreePort(t)
	cfg := agenttest.HTTPConfig(listener, pool, port, map[string]string{memberA: backA.Addr, memberB: backB.Addr})

	// Before upload: unknown listener.
	_, err := c.Listener(ctx(t), listener)
	if e := apiErr(t, err, 404, "Listener Not Found"); e.Details != "No listener with UUID: "+listener {
		t.Fatalf("details %q", e.Details)
	}
	_, err = c.ListenerAction(ctx(t), listener, "start")
	apiErr(t, err, 404, "Listener Not Found")

	// Invalid configuration: 400 with haproxy's output, nothing stored.
	_, err = c.UploadConfig(ctx(t), a.ID, listener, []byte("global\n    daemon\nBAD_LINE\n"))
	if e := apiErr(t, err, 400, "Invalid request"); !strings.Contains(e.Details, "BAD_LINE") || !strings.Contains(e.Details, "[ALERT]") {
		t.Fatalf("details %q", e.Details)
	}
	_, err = c.Config(ctx(t), listener)
	apiErr(t, err, 404, "Listener Not Found")
	_, err = c.UploadConfig(ctx(t), agenttest.NewUUID(), listener, []byte(cfg))
	apiErr(t, err, 400, "Invalid request") // another amphora's id
	_, err = c.UploadConfig(ctx(t), a.ID, "not-a-uuid", []byte(cfg))
	apiErr(t, err, 400, "Invalid request")

	etag, err := c.UploadConfig(ctx(t), a.ID, listener, []byte(cfg))
	if err != nil || len(etag) != 32 {
		t.Fatalf("upload: %q %v", etag, err)
	}
	if got, err := c.Config(ctx(t), listener); err != nil || string(got) != cfg {
		t.Fatalf("GET haproxy returned %q, %v", got, err)
	}
	// A bad re-upload leaves the stored config as it was.
	_, err = c.UploadConfig(ctx(t), a.ID, listener, []byte(cfg+"\n    BAD_LINE\n"))
	apiErr(t, err, 400, "Invalid request")
	if got, _ := c.Config(ctx(t), listener); string(got) != cfg {
		t.Fatal("refused upload changed the stored config")
	}
	list, err := c.Listeners(ctx(t))
	if err != nil || len(list) != 1 || list[0] != (agentclient.ListenerSummary{Status: "STOPPED", UUID: listener, Type: "HTTP"}) {
		t.Fatalf("listeners: %+v %v", list, err)
	}
	_, err = c.ListenerAction(ctx(t), listener, "BAD_TEST_DATA")
	if e := apiErr(t, err, 400, "Invalid Request"); e.Details != "Unknown action: BAD_TEST_DATA" {
		t.Fatalf("details %q", e.Details)
	}

	details, err := c.ListenerAction(ctx(t), listener, "start")
	if err != nil || !strings.Contains(details, "Configuration file is valid") || !strings.Contains(details, "started") {
		t.Fatalf("start: %q %v", details, err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		body, err := agenttest.Get(url)
		if err != nil {
			t.Fatalf("request %d through haproxy: %v", i, err)
		}
		seen[body]++
	}
	if seen["A"] == 0 || seen["B"] == 0 {
		t.Fatalf("both backends should answer, got %v", seen)
	}
	agenttest.Eventually(t, 10*time.Second, "listener ACTIVE with both members UP", func() bool {
		st, err := c.Listener(ctx(t), listener)
		return err == nil && st.Status == "ACTIVE" && st.Type == "HTTP" && st.Pool(pool) == "UP" &&
			st.Member(memberA) == "UP" && st.Member(memberB) == "UP"
	})
	hb := collector.WaitFor(t, 10*time.Second, "heartbeat with the listener and both members UP", func(m *heartbeat.Message) bool {
		p, ok := m.Pools[pool+":"+listener]
		return m.ID == a.ID && m.Listeners[listener].Status == "OPEN" && ok && p.Status == "UP" &&
			p.Members[memberA] == "UP" && p.Members[memberB] == "UP"
	})
	if hb.Ver != 3 {
		t.Fatalf("heartbeat version %d", hb.Ver)
	}
	// The 20 requests show up in the counters (deltas summed over messages).
	var total uint64
	for _, m := range collector.Messages() {
		total += m.Listeners[listener].Stats.TotConns
	}
	if total < 20 {
		t.Fatalf("heartbeats counted %d connections, want >= 20", total)
	}

	// info and details read the real system.
	info, err := c.Info(ctx(t))
	hv, _ := exec.Command("/usr/sbin/haproxy", "-v").Output()
	if err != nil || info.UUID != a.ID || info.APIVersion != "0.1" || !strings.Contains(string(hv), "version "+info.HAProxyVersion+" ") {
		t.Fatalf("info %+v %v (haproxy -v: %s)", info, err, hv)
	}
	d, err := c.Details(ctx(t))
	if err != nil || d.HAProxyCount != 1 || len(d.Listeners) != 1 || d.Listeners[0] != listener || d.Memory["total"] == 0 ||
		d.Disk["available"] == 0 || len(d.Load) != 3 || d.Topology != "SINGLE" || d.TopologyStatus != "OK" || !d.Active {
		t.Fatalf("details %+v %v", d, err)
	}
	if _, ok := d.Networks["lo"]; !ok {
		t.Fatalf("details networks %v", d.Networks)
	}
	hasHAProxy := false
	for _, p := range d.Packages {
		hasHAProxy = hasHAProxy || p["haproxy"] != ""
	}
	if !hasHAProxy {
		t.Fatalf("details packages %v", d.Packages)
	}

	// A member goes down: the listener status and the next heartbeat say so.
	backB.Stop()
	agenttest.Eventually(t, 10*time.Second, "member B DOWN, pool DEGRADED", func() bool {
		st, err := c.Listener(ctx(t), listener)
		return err == nil && st.Member(memberB) == "DOWN" && st.Member(memberA) == "UP" && st.Pool(pool) == "DEGRADED"
	})
	collector.WaitFor(t, 10*time.Second, "heartbeat with member B DOWN", func(m *heartbeat.Message) bool {
		p := m.Pools[pool+":"+listener]
		return p.Members[memberB] == "DOWN" && p.Members[memberA] == "UP"
	})

	// Reload: traffic keeps being served.
	details, err = c.ListenerAction(ctx(t), listener, "reload")
	if err != nil || !strings.Contains(details, "reloaded") {
		t.Fatalf("reload: %q %v", details, err)
	}
	for i := 0; i < 5; i++ {
		if body, err := agenttest.Get(url); err != nil || body != "A" {
			t.Fatalf("after reload: %q %v", body, err)
		}
	}

	// Delete: haproxy stopped, port closed, files gone.
	if err := c.DeleteListener(ctx(t), listener); err != nil {
		t.Fatal(err)
	}
	if !agenttest.PortClosed(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatal("listener port still open after delete")
	}
	_, err = c.Listener(ctx(t), listener)
	apiErr(t, err, 404, "Listener Not Found")
	err = c.DeleteListener(ctx(t), listener)
	apiErr(t, err, 404, "Listener Not Found")
	if _, err := os.Stat(filepath.Join(a.StateDir, "listeners", listener)); !os.IsNotExist(err) {
		t.Fatalf("listener dir left: %v", err)
	}
	if errs := collector.Errors(); len(errs) != 0 {
		t.Fatalf("genuine heartbeats rejected: %v", errs)
	}
	collector.WaitFor(t, 10*time.Second, "heartbeat without the deleted listener", func(m *heartbeat.Message) bool {
		_, ok := m.Listeners[listener]
		return !ok
	})
}

func TestHeartbeatsTamperedAndReplayedAreRejected(t *testing.T) {
	collector := agenttest.NewCollector(t, "k1")
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{Controllers: []string{collector.Addr},
		HeartbeatKey: "k1", HeartbeatInterval: 100 * time.Millisecond})
	agenttest.Eventually(t, 10*time.Second, "three heartbeats", func() bool { return len(collector.Messages()) >= 3 })
	msgs := collector.Messages()
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Boot != msgs[0].Boot || msgs[i].Seq <= msgs[i-1].Seq {
			t.Fatalf("sequence not increasing: %+v then %+v", msgs[i-1], msgs[i])
		}
	}
	raw := collector.Raw()
	v := heartbeat.NewVerifier([]byte("k1"), heartbeat.VerifierOptions{})
	first, err := v.Verify(raw[0])
	if err != nil || first.ID != a.ID {
		t.Fatalf("first datagram: %v", err)
	}
	if _, err := v.Verify(raw[0]); !errors.Is(err, heartbeat.ErrReplay) {
		t.Fatalf("replayed datagram: %v", err)
	}
	if _, err := v.Verify(raw[2]); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(raw[1]); !errors.Is(err, heartbeat.ErrReplay) {
		t.Fatalf("older datagram: %v", err)
	}
	tampered := append([]byte{}, raw[len(raw)-1]...)
	tampered[len(tampered)/3] ^= 0x20
	if _, err := v.Verify(tampered); !errors.Is(err, heartbeat.ErrBadSignature) {
		t.Fatalf("tampered datagram: %v", err)
	}
	if _, err := heartbeat.NewVerifier([]byte("other key"), heartbeat.VerifierOptions{}).Verify(raw[0]); !errors.Is(err, heartbeat.ErrBadSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	late := heartbeat.NewVerifier([]byte("k1"), heartbeat.VerifierOptions{Now: func() time.Time { return time.Now().Add(time.Minute) }})
	if _, err := late.Verify(raw[0]); !errors.Is(err, heartbeat.ErrStale) {
		t.Fatalf("stale datagram: %v", err)
	}
}

func TestMutualTLSAndServerCertificateRotation(t *testing.T) {
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{})

	// No client certificate: the handshake fails, no handler is reached.
	noCert := agentclient.New(a.Addr, &tls.Config{RootCAs: a.ServerCA.Pool(), ServerName: a.ID, MinVersion: tls.VersionTLS12}, 5*time.Second)
	if _, err := noCert.Info(ctx(t)); err == nil {
		t.Fatal("request without a client certificate was served")
	}
	// A certificate from another CA is refused too.
	stranger := agenttest.NewCA(t, "stranger")
	if _, err := a.NewClient(stranger.Client(t, "x").TLSCertificate(t)).Info(ctx(t)); err == nil {
		t.Fatal("request with a foreign client certificate was served")
	}
	// TLS 1.1 is refused.
	old := a.ClientCA.Client(t, "old")
	cfg := &tls.Config{RootCAs: a.ServerCA.Pool(), ServerName: a.ID, Certificates: []tls.Certificate{old.TLSCertificate(t)}, MaxVersion: tls.VersionTLS11}
	if conn, err := tls.Dial("tcp", a.Addr, cfg); err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 accepted")
	}

	// Certificate validation: the seed's three errors.
	next := a.ServerCA.Server(t, a.ID)
	other := a.ServerCA.Server(t, "other")
	cases := []struct {
		body []byte
		msg  string
	}{
		{[]byte("nothing"), "No certificate found"},
		{next.CertPEM, "No RSA key found"},
		{append(append([]byte{}, other.KeyPEM...), next.CertPEM...), "Certificate and key do not match"},
	}
	for _, cs := range cases {
		err := a.Client.PutServerCertificate(ctx(t), cs.body)
		apiErr(t, err, 400, cs.msg)
	}
	servedSerial := func() string {
		cert := a.ClientCA.Client(t, "probe").TLSCertificate(t)
		conn, err := tls.Dial("tcp", a.Addr, &tls.Config{RootCAs: a.ServerCA.Pool(), ServerName: a.ID, Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := servedSerial()
	if err := a.Client.PutServerCertificate(ctx(t), append(next.Bundle(), a.ServerCA.CertPEM...)); err != nil {
		t.Fatal(err)
	}
	if after := servedSerial(); after == before || after != next.Cert.SerialNumber.String() {
		t.Fatalf("served certificate serial %s, want %s (was %s)", after, next.Cert.SerialNumber, before)
	}
	// Same process, still serving with the new certificate.
	a.Client.CloseIdleConnections()
	if _, err := a.Client.Info(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if a.Exited() {
		t.Fatal("agent restarted")
	}
}

func TestCertificatesAndTLSListener(t *testing.T) {
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{})
	c := a.Client
	listener, pool, member := agenttest.NewUUID(), agenttest.NewUUID(), agenttest.NewUUID()
	ca := agenttest.NewCA(t, "lb CA")
	www := ca.Server(t, "www.example.com")
	other := ca.Server(t, "other")

	for _, cs := range []struct {
		body []byte
		msg  string
	}{
		{nil, "No certificate found"},
		{www.CertPEM, "No RSA key found"},
		{ca.ECBundle(t, "ec"), "No RSA key found"},
		{append(append([]byte{}, other.KeyPEM...), www.CertPEM...), "Certificate and key do not match"},
	} {
		apiErr(t, c.PutCertificate(ctx(t), listener, "www.example.com.pem", cs.body), 400, cs.msg)
	}
	// Bad names, including ones too long to store (a 255-character name used to pass,
	// then fail with 500 and the certificate directory's path).
	for _, name := range []string{"..pem", "www.example.com.crt", ".hidden.pem", "a..pem",
		strings.Repeat("a", 197) + ".pem", strings.Repeat("a", 251) + ".pem"} {
		e := apiErr(t, c.PutCertificate(ctx(t), listener, name, www.Bundle()), 400, "Filename has wrong format")
		if strings.Contains(e.Details, a.CertDir) || strings.Contains(e.Details, a.StateDir) {
			t.Fatalf("error details show the agent's paths: %q", e.Details)
		}
	}
	if err := c.PutCertificate(ctx(t), listener, strings.Repeat("a", 196)+".pem", www.Bundle()); err != nil {
		t.Fatalf("longest name: %v", err)
	}
	if err := c.DeleteCertificate(ctx(t), listener, strings.Repeat("a", 196)+".pem"); err != nil {
		t.Fatal(err)
	}
	status, _, err := c.Raw(ctx(t), "PUT", "/v0.1/listeners/"+listener+"/certificates/..%2F..%2Fescape.pem", www.Bundle())
	if err != nil || (status != 400 && status != 404) {
		t.Fatalf("traversal attempt: %d %v", status, err)
	}
	apiErr(t, c.PutCertificate(ctx(t), "not-a-uuid", "www.example.com.pem", www.Bundle()), 404, "Listener Not Found")

	bundle := append(www.Bundle(), ca.CertPEM...)
	if err := c.PutCertificate(ctx(t), listener, "www.example.com.pem", bundle); err != nil {
		t.Fatal(err)
	}
	sum, err := c.CertificateMD5(ctx(t), listener, "www.example.com.pem")
	if err != nil || sum != fmt.Sprintf("%x", md5sum(bundle)) {
		t.Fatalf("md5 %q %v", sum, err)
	}
	status, body, _ := c.Raw(ctx(t), "GET", "/v0.1/listeners/"+listener+"/certificates/www.example.com.pem", nil)
	if status != 200 || strings.Contains(string(body), "PRIVATE KEY") || strings.Contains(string(body), "BEGIN") {
		t.Fatalf("GET certificate returned %d %s", status, body)
	}
	path := filepath.Join(a.CertDir, listener, "www.example.com.pem")
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stored file %v %v", st, err)
	}
	_, err = c.CertificateMD5(ctx(t), listener, "nope.pem")
	if e := apiErr(t, err, 404, "Certificate Not Found"); e.Details != "No certificate with file name: nope.pem" {
		t.Fatalf("details %q", e.Details)
	}

	// A TERMINATED_HTTPS listener names its certificate by file name alone.
	back := agenttest.StartBackend(t, "tls-backend")
	port := agenttest.FreePort(t)
	cfg := fmt.Sprintf(`global
    maxconn 100
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend %s
    bind 127.0.0.1:%d ssl crt www.example.com.pem
    default_backend %s
backend %s
    server %s %s
`, listener, port, pool, pool, member, back.Addr)
	if _, err := c.UploadConfig(ctx(t), a.ID, listener, []byte(cfg)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListenerAction(ctx(t), listener, "start"); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "www.example.com"}}}
	resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("HTTPS through haproxy: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTPS status %d", resp.StatusCode)
	}
	st, err := c.Listener(ctx(t), listener)
	if err != nil || st.Type != "TERMINATED_HTTPS" || st.Status != "ACTIVE" || st.Pool(pool) == "" {
		t.Fatalf("listener %+v %v", st, err)
	}

	if err := c.DeleteCertificate(ctx(t), listener, "www.example.com.pem"); err != nil {
		t.Fatal(err)
	}
	apiErr(t, c.DeleteCertificate(ctx(t), listener, "www.example.com.pem"), 404, "Certificate Not Found")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("certificate still on disk: %v", err)
	}
	// Deleting the listener removes its certificate directory.
	if err := c.PutCertificate(ctx(t), listener, "www.example.com.pem", bundle); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteListener(ctx(t), listener); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(a.CertDir, listener)); !os.IsNotExist(err) {
		t.Fatalf("certificate dir left after listener delete: %v", err)
	}
}

func TestBadInputAndTopology(t *testing.T) {
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{})
	c := a.Client

	// An oversized body is refused from its Content-Length, before it is read (a raw
	// request, since a client still writing the body may see the reset before the 413).
	conn, err := tls.Dial("tcp", a.Addr, &tls.Config{RootCAs: a.ServerCA.Pool(), ServerName: a.ID,
		Certificates: []tls.Certificate{a.ClientCA.Client(t, "raw").TLSCertificate(t)}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v0.1/listeners/%s/%s/haproxy HTTP/1.1\r\nHost: agent\r\nContent-Length: %d\r\n\r\n", a.ID, agenttest.NewUUID(), 2<<20)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	conn.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(raw), `"message":"Request Entity Too Large"`) {
		t.Fatalf("oversized body: %d %s", resp.StatusCode, raw)
	}
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/v0.1/topology", "{not json"},
		{"POST", "/v0.1/topology", `{"topology":"SINGLE","extra":1}`},
		{"POST", "/v0.1/plug/vip/203.0.113.2", "[]"},
		{"PUT", "/v0.1/listeners/" + a.ID + "/" + agenttest.NewUUID() + "/haproxy", ""},
	} {
		status, body, err := c.Raw(ctx(t), req.method, req.path, []byte(req.body))
		if err != nil || status != 400 || !strings.Contains(string(body), `"message":"Invalid request"`) {
			t.Fatalf("%s %s %q: %d %s %v", req.method, req.path, req.body, status, body, err)
		}
	}
	status, body, _ := c.Raw(ctx(t), "GET", "/v0.1/nothing", nil)
	if status != 404 || !strings.Contains(string(body), `"message"`) {
		t.Fatalf("unknown path: %d %s", status, body)
	}
	status, _, _ = c.Raw(ctx(t), "DELETE", "/v0.1/topology", nil)
	if status != 405 {
		t.Fatalf("wrong method: %d", status)
	}

	// interface lookup on the host's loopback.
	if name, err := c.Interface(ctx(t), "127.0.0.1"); err != nil || name != "lo" {
		t.Fatalf("interface: %q %v", name, err)
	}
	_, err = c.Interface(ctx(t), "10.6.0.1.1")
	apiErr(t, err, 400, "Bad IP address version")
	_, err = c.Interface(ctx(t), "192.0.2.77")
	apiErr(t, err, 404, "Error interface not found for IP address")

	// Topology.
	topo, err := c.Topology(ctx(t))
	if err != nil || topo.Topology != "SINGLE" || topo.Role != "ACTIVE" || topo.UUID != a.ID || topo.Hostname == "" {
		t.Fatalf("topology %+v %v", topo, err)
	}
	_, err = c.SetTopology(ctx(t), agentclient.Topology{Topology: "BAD_TEST_DATA"})
	if e := apiErr(t, err, 400, "Invalid request"); e.Details != "Unknown topology: BAD_TEST_DATA" {
		t.Fatalf("details %q", e.Details)
	}
	accepted, err := c.SetTopology(ctx(t), agentclient.Topology{Topology: "ACTIVE-STANDBY", Role: "STANDBY", HAIP: "203.0.113.2", Secret: "b20e06cf"})
	if err != nil || accepted {
		t.Fatalf("set topology: %v %v", accepted, err)
	}
	topo, _ = c.Topology(ctx(t))
	if topo.Topology != "ACTIVE-STANDBY" || topo.Role != "STANDBY" || topo.HAIP != "203.0.113.2" || topo.Secret != "" {
		t.Fatalf("topology after set %+v", topo)
	}
	if d, _ := c.Details(ctx(t)); d.Active || d.Topology != "ACTIVE-STANDBY" {
		t.Fatalf("details after topology change: active %v topology %s", d.Active, d.Topology)
	}
	if _, err := c.Info(ctx(t)); err != nil {
		t.Fatalf("agent stopped serving after bad input: %v", err)
	}
}

func TestAgentRestartKeepsListeners(t *testing.T) {
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{})
	listener, pool, member := agenttest.NewUUID(), agenttest.NewUUID(), agenttest.NewUUID()
	back := agenttest.StartBackend(t, "X")
	port := agenttest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if _, err := a.Client.UploadConfig(ctx(t), a.ID, listener, []byte(agenttest.HTTPConfig(listener, pool, port, map[string]string{member: back.Addr}))); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.ListenerAction(ctx(t), listener, "start"); err != nil {
		t.Fatal(err)
	}

	// A crashed agent (SIGKILL) leaves haproxy serving; the next agent adopts it.
	a.Kill()
	if body, err := agenttest.Get(url); err != nil || body != "X" {
		t.Fatalf("haproxy died with the agent: %q %v", body, err)
	}
	b := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{Reuse: a})
	st, err := b.Client.Listener(ctx(t), listener)
	if err != nil || st.Status != "ACTIVE" {
		t.Fatalf("adopted listener %+v %v", st, err)
	}

	// A clean stop (SIGTERM) stops haproxy; the next agent starts it again.
	if !b.Stop(t) {
		t.Fatal("agent did not stop on SIGTERM")
	}
	if !agenttest.PortClosed(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatal("haproxy kept running after the agent's clean shutdown")
	}
	c2 := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{Reuse: a})
	if body, err := agenttest.Get(url); err != nil || body != "X" {
		t.Fatalf("listener not restored: %q %v", body, err)
	}
	if _, err := c2.Client.ListenerAction(ctx(t), listener, "stop"); err != nil {
		t.Fatal(err)
	}
	if !agenttest.PortClosed(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatal("port open after stop")
	}
}

// A second listener on a port a running listener binds is refused with 409 before its
// haproxy starts; the first keeps every connection.
func TestTwoListenersOnOnePort(t *testing.T) {
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{})
	c := a.Client
	port := agenttest.FreePort(t)
	first, second := agenttest.NewUUID(), agenttest.NewUUID()
	for id, name := range map[string]string{first: "first", second: "second"} {
		back := agenttest.StartBackend(t, name)
		cfg := agenttest.HTTPConfig(id, agenttest.NewUUID(), port, map[string]string{agenttest.NewUUID(): back.Addr})
		if _, err := c.UploadConfig(ctx(t), a.ID, id, []byte(cfg)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ListenerAction(ctx(t), first, "start"); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"start", "reload"} { // reload of a stopped listener starts it
		_, err := c.ListenerAction(ctx(t), second, action)
		if e := apiErr(t, err, 409, "Error starting haproxy"); !strings.Contains(e.Details, first) || !strings.Contains(e.Details, fmt.Sprint(port)) {
			t.Fatalf("details %q", e.Details)
		}
	}
	if st, err := c.Listener(ctx(t), second); err != nil || st.Status != "STOPPED" {
		t.Fatalf("refused listener: %+v %v", st, err)
	}
	for i := 0; i < 10; i++ {
		if body, err := agenttest.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || body != "first" {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
	}
	if _, err := c.ListenerAction(ctx(t), first, "stop"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListenerAction(ctx(t), second, "start"); err != nil {
		t.Fatalf("start once the port is free: %v", err)
	}
}

// Only a certificate issued for TLS client authentication opens the API: one whose
// key usage is only keyCertSign was accepted (crypto/tls checks the chain and
// extended key usage, never key usage).
func TestClientCertificateUsage(t *testing.T) {
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{})
	ku := func(u x509.KeyUsage) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.KeyUsage = u }
	}
	eku := func(u ...x509.ExtKeyUsage) func(*x509.Certificate) {
		return func(c *x509.Certificate) { c.ExtKeyUsage = u }
	}
	both := func(edits ...func(*x509.Certificate)) func(*x509.Certificate) {
		return func(c *x509.Certificate) {
			for _, e := range edits {
				e(c)
			}
		}
	}
	clientAuth := eku(x509.ExtKeyUsageClientAuth)
	for _, c := range []struct {
		name string
		edit func(*x509.Certificate)
		ok   bool
	}{
		{"clientAuth, digitalSignature", both(clientAuth, ku(x509.KeyUsageDigitalSignature)), true},
		{"clientAuth, digitalSignature and keyEncipherment", both(clientAuth, ku(x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment)), true},
		{"clientAuth and serverAuth", both(eku(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth), ku(x509.KeyUsageDigitalSignature)), true},
		{"clientAuth, no key usage", both(clientAuth, ku(0)), true},
		{"keyCertSign only", both(eku(), ku(x509.KeyUsageCertSign)), false},
		{"clientAuth, keyCertSign only", both(clientAuth, ku(x509.KeyUsageCertSign)), false},
		{"clientAuth, keyEncipherment only", both(clientAuth, ku(x509.KeyUsageKeyEncipherment)), false},
		{"clientAuth, keyAgreement only", both(clientAuth, ku(x509.KeyUsageKeyAgreement)), false},
		{"no extended key usage", both(eku(), ku(x509.KeyUsageDigitalSignature)), false},
		{"serverAuth only", both(eku(x509.ExtKeyUsageServerAuth), ku(x509.KeyUsageDigitalSignature)), false},
		{"any extended key usage", both(eku(x509.ExtKeyUsageAny), ku(x509.KeyUsageDigitalSignature)), false},
		{"a CA certificate", both(clientAuth, ku(x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign), func(c *x509.Certificate) {
			c.IsCA, c.BasicConstraintsValid = true, true
		}), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := a.NewClient(a.ClientCA.Custom(t, "controller", c.edit).TLSCertificate(t))
			defer client.CloseIdleConnections()
			_, err := client.Info(ctx(t))
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok && err == nil {
				t.Fatal("served")
			}
		})
	}
}

// One forged heartbeat (from a holder of the key) with a huge boot made the verifier
// refuse a running agent's genuine heartbeats for good: now boot cannot be after the
// message's ts, and the forged position is let go of about one window later.
func TestForgedHeartbeatSilencesOnlyBriefly(t *testing.T) {
	const window = time.Second
	collector := agenttest.NewCollectorWith(t, "k1", heartbeat.VerifierOptions{Window: window})
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{Controllers: []string{collector.Addr},
		HeartbeatKey: "k1", HeartbeatInterval: 100 * time.Millisecond})
	genuine := collector.WaitFor(t, 10*time.Second, "a heartbeat", func(m *heartbeat.Message) bool { return m.ID == a.ID })
	send := func(m *heartbeat.Message) {
		d, err := heartbeat.Encode(m, []byte("k1"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("udp", collector.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	// A boot after the message's own ts is refused outright.
	errsBefore := len(collector.Errors())
	send(&heartbeat.Message{ID: a.ID, Ver: heartbeat.Version, Boot: math.MaxInt64, Seq: 1, Time: time.Now().UnixMilli()})
	agenttest.Eventually(t, 5*time.Second, "the huge boot refused", func() bool {
		for _, err := range collector.Errors()[errsBefore:] {
			if errors.Is(err, heartbeat.ErrMalformed) {
				return true
			}
		}
		return false
	})
	// The largest boot a forger can use: its ts at the edge of the window.
	sent := time.Now()
	edge := sent.Add(window)
	send(&heartbeat.Message{ID: a.ID, Ver: heartbeat.Version, Boot: edge.UnixNano(), Seq: 1 << 40, Time: edge.UnixMilli()})
	var forged *heartbeat.Message
	agenttest.Eventually(t, 5*time.Second, "the forged heartbeat accepted", func() bool {
		for _, m := range collector.Messages() {
			if m.Seq == 1<<40 {
				forged = m
			}
		}
		return forged != nil
	})
	// The agent's own heartbeats are refused for a while, then accepted again.
	back := collector.WaitFor(t, 3*window+2*time.Second, "genuine heartbeats accepted again", func(m *heartbeat.Message) bool {
		return m.Boot == genuine.Boot
	})
	// About one window plus one interval; the slack is for a loaded machine.
	if silenced := time.UnixMilli(back.Time).Sub(sent); silenced > 2*window+time.Second {
		t.Fatalf("genuine heartbeats refused for %s after the forged one", silenced)
	}
}
