package systemtest

import (
	"encoding/json"
	"strings"
	"time"
)

// Helpers for the Blazar v1 listener (keeld -blazar-addr).

// BlazarURL returns the node's Blazar API URL for path.
func (n *Node) BlazarURL(path string) string { return "http://" + n.BlazarAddr + path }

// BlazarDo is Do against the node's Blazar listener.
func (n *Node) BlazarDo(method, path string, body interface{}, headers ...string) (*Response, error) {
	return n.do(n.BlazarURL(path), method, body, headers...)
}

// BlazarMustDo is MustDo against the node's Blazar listener.
func (n *Node) BlazarMustDo(want int, method, path string, body interface{}, headers ...string) *Response {
	n.t.Helper()
	r, err := n.BlazarDo(method, path, body, headers...)
	if err != nil {
		n.t.Fatalf("%s %s on %s (blazar): %v", method, path, n.Name, err)
	}
	if r.Status != want {
		n.t.Fatalf("%s %s on %s (blazar): status %d, want %d: %s", method, path, n.Name, r.Status, want, r.Body)
	}
	return r
}

// BlazarError is Blazar's error body ({"error_code", "error_message",
// "error_name"}), or for what its Flask app aborts ({"error",
// "error_message"}).
type BlazarError struct {
	Code    int    `json:"error_code"`
	Message string `json:"error_message"`
	Name    any    `json:"error_name"`
	Abort   int    `json:"error"`
}

// ExpectBlazarError checks an error response: its status, Blazar's body with
// that code (error_code and error_name, or error for an abort) and message.
func ExpectBlazarError(t T, r *Response, status int, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var e BlazarError
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error body is not Blazar's: %s", r.Body)
	}
	if e.Message != msg {
		t.Fatalf("error_message %q, want %q", e.Message, msg)
	}
	if e.Abort == 0 && (e.Code != status || e.Name != float64(status)) {
		t.Fatalf("error_code/error_name are not %d: %s", status, r.Body)
	}
	if e.Abort != 0 && e.Abort != status {
		t.Fatalf("error is not %d: %s", status, r.Body)
	}
}

// LeaseStatus is a lease's status as the node shows it ("" when it cannot be
// read, "404" when it is gone).
func (n *Node) LeaseStatus(id string) string {
	r, err := n.BlazarDo("GET", "/v1/leases/"+id, nil)
	if err != nil {
		return ""
	}
	if r.Status != 200 {
		if r.Status == 404 {
			return "404"
		}
		return ""
	}
	var v struct {
		Lease struct {
			Status string `json:"status"`
		} `json:"lease"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Lease.Status
}

// WaitLeaseStatus waits (bounded) until lease id has status; it returns how
// long that took.
func (n *Node) WaitLeaseStatus(id, status string, timeout time.Duration) time.Duration {
	n.t.Helper()
	start := time.Now()
	Eventually(n.t, timeout, "lease "+id+" "+status, func() bool {
		s := n.LeaseStatus(id)
		if s == "ERROR" && status != "ERROR" {
			n.t.Fatalf("lease %s went ERROR", id)
		}
		return strings.EqualFold(s, status)
	})
	return time.Since(start)
}
