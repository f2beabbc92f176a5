package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// rawResponse is what a raw request got back, and how long it took.
type rawResponse struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
	err     error
}

// raw sends bytes as they are (net/http would fix what these tests break) and
// reads one response, waiting at most timeout.
func raw(t *testing.T, n *systemtest.Node, req string, timeout time.Duration) rawResponse {
	t.Helper()
	c, err := net.DialTimeout("tcp", n.HTTPAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(start.Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var sent *http.Request
	if strings.HasPrefix(req, "HEAD ") {
		sent = &http.Request{Method: "HEAD"} // a HEAD response's Content-Length has no body
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), sent)
	if err != nil {
		return rawResponse{elapsed: time.Since(start), err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: body, elapsed: time.Since(start)}
}

func (r rawResponse) fault(t *testing.T, status int, msg string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("no response after %v: %v", r.elapsed, r.err)
	}
	systemtest.ExpectFault(t, &systemtest.Response{Status: r.status, Body: r.body, Header: r.header}, status, msg)
}

func lbCount(t *testing.T, n *systemtest.Node) int {
	t.Helper()
	return len(list(t, n, "/v2/lbaas/loadbalancers").LoadBalancers)
}

// TestBrowserRequests: what a web page can make a browser send must not reach a
// handler (issue 11): bodies that are not JSON (a form POST, a no-cors fetch)
// get Octavia's 415, and a Host the server was not given (DNS rebinding) a 400.
func TestBrowserRequests(t *testing.T) {
	n := startNodeWith(t, "-allowed-hosts", "keel.test")
	body := fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, subnet)

	t.Run("not JSON: 415, nothing created", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			mimetype, _, _ := strings.Cut(ct, ";")
			systemtest.ExpectFault(t, n.MustDo(415, "POST", "/v2/lbaas/loadbalancers", body, "Content-Type: "+ct), 415,
				"Unknown mimetype: "+mimetype)
		}
		// No Content-Type at all (a fetch of a Blob): WSME names none.
		raw(t, n, fmt.Sprintf("POST /v2/lbaas/loadbalancers HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s", len(body), body),
			10*time.Second).fault(t, 415, "Unknown mimetype: ")
		// PUT and DELETE are refused the same way; bodiless requests pass.
		n.MustDo(415, "PUT", "/v2/lbaas/loadbalancers/x", `{}`, "Content-Type: text/plain")
		if got := lbCount(t, n); got != 0 {
			t.Fatalf("%d load balancers created", got)
		}
		// JSON, with a charset or in another case, is read.
		id := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", body, "Content-Type: Application/JSON; charset=utf-8")).ID
		n.WaitActive(id, 10*time.Second)
		n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+id, nil)
		systemtest.Eventually(t, 10*time.Second, id+" gone", func() bool { return n.ProvisioningStatus(id) == "404" })
	})

	t.Run("Host", func(t *testing.T) {
		get := func(host string) rawResponse {
			return raw(t, n, "GET /v2/lbaas/loadbalancers HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n", 10*time.Second)
		}
		_, port, _ := net.SplitHostPort(n.HTTPAddr)
		for _, host := range []string{n.HTTPAddr, "localhost:" + port, "keel.test:" + port, "KEEL.test", "[::1]:" + port} {
			if r := get(host); r.status != 200 {
				t.Fatalf("Host %s: %d %s", host, r.status, r.body)
			}
		}
		get("evil.example:"+port).fault(t, 400, `Host "evil.example:`+port+`" is not a name of this server (keeld -allowed-hosts).`)
		get("127.0.0.1.evil.example").fault(t, 400, `Host "127.0.0.1.evil.example" is not a name of this server (keeld -allowed-hosts).`)
		// A refused Host creates nothing either.
		r := raw(t, n, fmt.Sprintf("POST /v2/lbaas/loadbalancers HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"+
			"Content-Length: %d\r\n\r\n%s", len(body), body), 10*time.Second)
		if r.status != 400 || lbCount(t, n) != 0 {
			t.Fatalf("POST with Host evil.example: %d %s", r.status, r.body)
		}
	})
}

// TestRequestEdges: the transport findings of issue 11, each answered at once
// and in Octavia's error format.
func TestRequestEdges(t *testing.T) {
	n := startNode(t)
	const prompt = 3 * time.Second // every refusal below is immediate; fasthttp's timeout is 60 s
	get := func(headers string) string {
		return "GET /v2/lbaas/loadbalancers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + headers + "\r\n"
	}

	t.Run("non-UTF-8 and control characters in headers: 400 at once", func(t *testing.T) {
		for _, h := range []string{"X-Project-Id: \xff\xfe\r\n", "X-Roles: admin\u0085\r\n", "X-Project-Id: caf\xe9\r\n"} {
			name, _, _ := strings.Cut(h, ":")
			r := raw(t, n, get(h), prompt)
			r.fault(t, 400, "Invalid value for header "+name+": header values must be UTF-8 text without control characters.")
		}
		raw(t, n, get("X-Roles: admin\x01\r\n"), prompt).fault(t, 400, "Malformed request.") // fasthttp's own refusal
		if r := raw(t, n, get("X-Project-Id: café\r\n"), prompt); r.status != 200 {
			t.Fatalf("UTF-8 project: %d %s", r.status, r.body)
		}
	})

	t.Run("16 KiB of headers are served, 40 KiB get 431", func(t *testing.T) {
		token := strings.Repeat("t", 16<<10)
		if r := raw(t, n, get("X-Auth-Token: "+token+"\r\n"), prompt); r.status != 200 {
			t.Fatalf("16 KiB token: %d %s (%v)", r.status, r.body, r.err)
		}
		r := raw(t, n, get("X-Auth-Token: "+strings.Repeat("t", 40<<10)+"\r\n"), prompt)
		r.fault(t, 431, "Request header fields too large: at most 32768 bytes of headers are read.")
	})

	t.Run("malformed requests are not echoed", func(t *testing.T) {
		r := raw(t, n, "GET<script>alert(1)</script> /\r\nHost: localhost\r\n\r\n", prompt)
		r.fault(t, 400, "Malformed request.")
		if bytes.Contains(r.body, []byte("script")) {
			t.Fatalf("request echoed: %s", r.body)
		}
	})

	t.Run("bare LF: 400 at once", func(t *testing.T) {
		r := raw(t, n, "GET /v2/lbaas/loadbalancers HTTP/1.1\nHost: localhost\n\n", prompt)
		r.fault(t, 400, "Malformed request: header line ended by a bare LF; HTTP/1.1 lines end with CRLF.")
		if r.elapsed > prompt {
			t.Fatalf("answered after %v", r.elapsed)
		}
	})

	t.Run("no redirect to the request's Host", func(t *testing.T) {
		for _, path := range []string{"/V2/lbaas/loadbalancers", "//v2/lbaas/loadbalancers", "/v2/lbaas/../lbaas/loadbalancers/"} {
			r := raw(t, n, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n", prompt)
			if r.status >= 300 && r.status < 400 || r.header.Get("Location") != "" {
				t.Fatalf("%s: %d, Location %q", path, r.status, r.header.Get("Location"))
			}
		}
	})

	t.Run("HEAD is answered as GET without a body", func(t *testing.T) {
		full := n.MustDo(200, "GET", "/v2/lbaas/loadbalancers", nil)
		r := raw(t, n, "HEAD /v2/lbaas/loadbalancers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", prompt)
		if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") != fmt.Sprint(len(full.Body)) ||
			r.header.Get("X-Openstack-Request-Id") == "" {
			t.Fatalf("HEAD: %d %q %v", r.status, r.body, r.header)
		}
		if r := raw(t, n, "HEAD /v2/lbaas/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", prompt); r.status != 404 {
			t.Fatalf("HEAD of an unknown path: %d", r.status)
		}
	})

	t.Run("path parameters are percent-decoded", func(t *testing.T) {
		profile := createZoneProfile(t, n, "edges", "amphora", "{}")
		createZone(t, n, "my az/1", profile)
		for _, path := range []string{"/v2/lbaas/availabilityzones/my%20az%2F1", "/v2/lbaas/availabilityzones/my%20az%2f1.json"} {
			if got := objectOf(t, n.MustDo(200, "GET", path, nil), "availability_zone")["name"]; got != "my az/1" {
				t.Fatalf("%s: %v", path, got)
			}
		}
		n.MustDo(200, "PUT", "/v2/lbaas/availabilityzones/my%20az%2F1", `{"availability_zone":{"description":"d"}}`)
		n.MustDo(204, "DELETE", "/v2/lbaas/availabilityzones/my%20az%2F1", nil)
		n.MustDo(404, "GET", "/v2/lbaas/availabilityzones/my%20az%2F1", nil)
	})

	t.Run("invalid UTF-8, NUL and null tags are refused", func(t *testing.T) {
		for _, c := range []struct{ body, msg string }{
			{"{\"loadbalancer\":{\"name\":\"caf\xe9\",\"vip_subnet_id\":\"" + subnet + "\"}}", "Request is not in valid JSON format"},
			{`{"loadbalancer":{"name":"\ud800","vip_subnet_id":"` + subnet + `"}}`, "Request is not in valid JSON format"},
			{`{"loadbalancer":{"name":"a\u0000b","vip_subnet_id":"` + subnet + `"}}`, `Invalid input: strings must not hold NUL characters (\u0000).`},
			{`{"loadbalancer":{"tags":[null],"vip_subnet_id":"` + subnet + `"}}`, `Invalid input for field/attribute tags. Value: '[null]'. Wrong type. Expected 'str', got 'NoneType'`},
		} {
			systemtest.ExpectFault(t, n.MustDo(400, "POST", "/v2/lbaas/loadbalancers", []byte(c.body)), 400, c.msg)
		}
		if got := lbCount(t, n); got != 0 {
			t.Fatalf("%d load balancers created", got)
		}
	})
}
