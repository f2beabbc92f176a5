package api

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keel/agent/agenttest"
	"keel/agent/certs"
	"keel/agent/topology"
)

func TestScrubPaths(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"no path here", "no path here"},
		{"open /var/lib/keel-agent/listeners/x/haproxy.cfg: permission denied", "open haproxy.cfg: permission denied"},
		{"parsing [/var/lib/keel-agent/listeners/x/haproxy.cfg:4]: unknown keyword", "parsing [haproxy.cfg:4]: unknown keyword"},
		{"create temp file for /dev/shm/k/certs/l/a.pem: open /dev/shm/k/certs/l/.a.pem.new-1: file name too long",
			"create temp file for a.pem: open .a.pem.new-1: file name too long"},
		{"ip -n ns addr replace 10.0.0.5/24 dev eth1: RTNETLINK answers: File exists", "ip -n ns addr replace 10.0.0.5/24 dev eth1: RTNETLINK answers: File exists"},
		{"fe80::1/64 and 2001:db8::/32", "fe80::1/64 and 2001:db8::/32"},
		{`cannot bind UNIX socket ("/s/run/l.sock")`, `cannot bind UNIX socket ("l.sock")`},
		{"/", "/"},
		{"a / b", "a / b"},
		{"run /usr/sbin/haproxy -c: exit status 1", "run haproxy -c: exit status 1"},
	} {
		if got := scrubPaths(c.in); got != c.want {
			t.Errorf("scrubPaths(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Certificate names: one that is too long for the file system is refused as a bad
// name (it used to pass, then fail with 500 and the certificate directory's path);
// a real file system failure answers 500 without any of the agent's paths.
func TestCertificateErrorsShowNoPaths(t *testing.T) {
	root := t.TempDir()
	store, err := certs.NewStore(filepath.Join(root, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	topo, err := topology.Load(filepath.Join(root, "t.json"), func(context.Context, topology.State, topology.State) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(Deps{AmphoraID: "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce", Certs: store, Topology: topo})
	ca := agenttest.NewCA(t, "ca")
	bundle := string(ca.Server(t, "www.example.com").Bundle())
	const l = "04bff5c3-5862-4a13-b9e3-9b440d0ed50a"
	put := func(name string) (int, map[string]any) {
		return call(h, "PUT", "/v0.1/listeners/"+l+"/certificates/"+name, bundle)
	}
	for _, n := range []int{201, 250, 255, 300} {
		name := strings.Repeat("a", n-4) + ".pem"
		status, body := put(name)
		if status != 400 || body["message"] != "Filename has wrong format" || !strings.Contains(body["details"].(string), "at most 200") {
			t.Errorf("%d-byte name: %d %v", n, status, body)
		}
	}
	if status, body := put(strings.Repeat("a", 196) + ".pem"); status != 201 {
		t.Fatalf("200-byte name: %d %v", status, body)
	}

	// The listener's certificate directory cannot be created (a file is in its way).
	const l2 = "1d3f7a3c-0f4c-4a57-8a3e-2a1f0c9d7e11"
	if err := os.WriteFile(filepath.Join(root, "certs", l2), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	status, body := call(h, "PUT", "/v0.1/listeners/"+l2+"/certificates/www.example.com.pem", bundle)
	if status != 500 {
		t.Fatalf("unwritable directory: %d %v", status, body)
	}
	if d, _ := body["details"].(string); d == "" || strings.Contains(d, root) || strings.Contains(d, "/") {
		t.Fatalf("500 details show a path: %q", d)
	}
}
