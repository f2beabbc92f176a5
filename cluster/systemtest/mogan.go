package systemtest

import (
	"encoding/json"
)

// Helpers for the Mogan v1 listener (keeld -mogan-addr).

// MoganURL returns the node's Mogan API URL for path.
func (n *Node) MoganURL(path string) string { return "http://" + n.MoganAddr + path }

// MoganDo is Do against the node's Mogan listener.
func (n *Node) MoganDo(method, path string, body interface{}, headers ...string) (*Response, error) {
	return n.do(n.MoganURL(path), method, body, headers...)
}

// MoganMustDo is MustDo against the node's Mogan listener.
func (n *Node) MoganMustDo(want int, method, path string, body interface{}, headers ...string) *Response {
	n.t.Helper()
	r, err := n.MoganDo(method, path, body, headers...)
	if err != nil {
		n.t.Fatalf("%s %s on %s (mogan): %v", method, path, n.Name, err)
	}
	if r.Status != want {
		n.t.Fatalf("%s %s on %s (mogan): status %d, want %d: %s", method, path, n.Name, r.Status, want, r.Body)
	}
	return r
}

// MoganFault is the WSME fault inside Mogan's error body.
type MoganFault struct {
	Faultcode   string  `json:"faultcode"`
	Faultstring string  `json:"faultstring"`
	Debuginfo   *string `json:"debuginfo"`
}

// ExpectMoganError checks an error response: its status and Mogan's body
// ({"error_message": "<fault as a JSON string>"}) whose faultstring is msg
// ("" to skip the text) and whose faultcode follows the status.
func ExpectMoganError(t T, r *Response, status int, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var outer map[string]string
	if err := json.Unmarshal(r.Body, &outer); err != nil || len(outer) != 1 {
		t.Fatalf("error body is not Mogan's: %s", r.Body)
	}
	var f MoganFault
	if err := json.Unmarshal([]byte(outer["error_message"]), &f); err != nil {
		t.Fatalf("error_message is not a JSON fault: %s", r.Body)
	}
	code := "Server"
	if status < 500 {
		code = "Client"
	}
	if f.Faultcode != code || f.Debuginfo != nil || (msg != "" && f.Faultstring != msg) {
		t.Fatalf("fault %+v, want %s %q: %s", f, code, msg, r.Body)
	}
}
