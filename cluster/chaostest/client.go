package chaostest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"keel/cluster/systemtest"
)

// api is the workload's HTTP client: short timeouts (a paused node must not hold
// a client for long) and the outcome classes the checker relies on.
type api struct {
	http *http.Client
	rec  *Recorder
}

func newAPI(rec *Recorder, timeout time.Duration) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second,
		ResponseHeaderTimeout: timeout}
	return &api{http: &http.Client{Timeout: timeout, Transport: tr}, rec: rec}
}

func (a *api) close() { a.http.CloseIdleConnections() }

// outcome classifies an HTTP answer: 2xx took effect, 4xx took none, anything else
// (5xx, timeout, reset) is unknown.
func outcome(status int, err error) string {
	switch {
	case err != nil || status == 0:
		return Unknown
	case status >= 200 && status < 300:
		return OK
	case status >= 400 && status < 500:
		return Failed
	}
	return Unknown
}

// do sends one request and returns status, body and transport error.
func (a *api) do(n *systemtest.Node, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.URL(path), rd)
	if err != nil {
		return 0, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, data, err
	}
	return resp.StatusCode, data, nil
}

// object is one entity the workload reads and writes.
type object struct {
	Kind string // loadbalancer, listener, member
	ID   string
	Pool string // a member's pool
}

func (o object) path() string {
	switch o.Kind {
	case "listener":
		return "/v2/lbaas/listeners/" + o.ID
	case "member":
		return "/v2/lbaas/pools/" + o.Pool + "/members/" + o.ID
	}
	return "/v2/lbaas/loadbalancers/" + o.ID
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "timeout"
	}
	return err.Error()
}

// read records a GET of o on n; it returns what was seen (a name or Gone).
func (a *api) read(client int, n *systemtest.Node, o object) Record {
	r := Record{Client: client, Node: n.Name, Op: OpRead, Kind: o.Kind, Obj: o.ID, Call: a.rec.Now()}
	status, body, err := a.do(n, "GET", o.path(), nil)
	r.Return, r.Status, r.Err = a.rec.Now(), status, errString(err)
	r.Outcome = outcome(status, err)
	switch {
	case r.Outcome == OK:
		var v map[string]struct {
			Name               string `json:"name"`
			ProvisioningStatus string `json:"provisioning_status"`
		}
		if json.Unmarshal(body, &v) != nil || len(v) != 1 {
			r.Outcome, r.Err = Unknown, "undecodable: "+string(body)
			break
		}
		for _, e := range v {
			r.Read = e.Name
			if e.ProvisioningStatus == "PENDING_DELETE" || e.ProvisioningStatus == "DELETED" {
				r.Read = Gone
			}
		}
	case status == 404:
		// The object does not exist: a definite answer for a read.
		r.Outcome, r.Read = OK, Gone
	default:
		r.Outcome = Unknown // a failed read tells nothing; dropped by the checker
	}
	a.rec.Add(r)
	return r
}

// write records a PUT of a new name on o.
func (a *api) write(client int, n *systemtest.Node, o object, name string) Record {
	r := Record{Client: client, Node: n.Name, Op: OpWrite, Kind: o.Kind, Obj: o.ID, Value: name, Call: a.rec.Now()}
	status, body, err := a.do(n, "PUT", o.path(), map[string]any{o.Kind: map[string]any{"name": name}})
	r.Return, r.Status, r.Err = a.rec.Now(), status, errString(err)
	r.Outcome = outcome(status, err)
	if r.Outcome != OK && err == nil {
		r.Err = truncate(body, 200)
	}
	a.rec.Add(r)
	return r
}

// remove records a DELETE of o.
func (a *api) remove(client int, n *systemtest.Node, o object) Record {
	r := Record{Client: client, Node: n.Name, Op: OpDelete, Kind: o.Kind, Obj: o.ID, Call: a.rec.Now()}
	status, body, err := a.do(n, "DELETE", o.path(), nil)
	r.Return, r.Status, r.Err = a.rec.Now(), status, errString(err)
	r.Outcome = outcome(status, err)
	if r.Outcome != OK && err == nil {
		r.Err = truncate(body, 200)
	}
	a.rec.Add(r)
	return r
}

// create records a POST to path of {kind: body} (body gets the unique name) and
// returns the new object's id ("" unless 201).
func (a *api) create(client int, n *systemtest.Node, kind, path, name string, body map[string]any) (Record, string) {
	r := Record{Client: client, Node: n.Name, Op: OpCreate, Kind: kind, Value: name, Call: a.rec.Now()}
	body["name"] = name
	status, resp, err := a.do(n, "POST", path, map[string]any{kind: body})
	r.Return, r.Status, r.Err = a.rec.Now(), status, errString(err)
	r.Outcome = outcome(status, err)
	if r.Outcome == OK {
		var v map[string]struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(resp, &v) == nil {
			r.Obj = v[kind].ID
		}
		if r.Obj == "" {
			r.Outcome, r.Err = Unknown, "no id in "+truncate(resp, 200)
		}
	} else if err == nil {
		r.Err = truncate(resp, 200)
	}
	a.rec.Add(r)
	return r, r.Obj
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// subnet is any UUID: keel records network ids as given.
const subnet = "08dce793-daef-411d-a896-d389cd45b1ea"

func lbBody() map[string]any { return map[string]any{"vip_subnet_id": subnet} }

func listenerBody(lb string, port int) map[string]any {
	return map[string]any{"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": port}
}

func poolBody(listener string) map[string]any {
	return map[string]any{"listener_id": listener, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}
}

func memberBody(port int) map[string]any {
	return map[string]any{"address": fmt.Sprintf("192.0.2.%d", 1+port%250), "protocol_port": port}
}
