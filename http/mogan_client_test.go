package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// A Go program driving Mogan's API as a user would: plain net/http and its
// own types, no harness helper past starting one keeld (fake power driver).
// create → show → list → patch → power off/on → delete.

type goInstance struct {
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	Description      *string           `json:"description"`
	Status           string            `json:"status"`
	PowerState       *string           `json:"power_state"`
	InstanceTypeUUID string            `json:"instance_type_uuid"`
	ImageUUID        string            `json:"image_uuid"`
	NetworkInfo      map[string]any    `json:"network_info"`
	Extra            map[string]string `json:"extra"`
	LaunchedAt       *string           `json:"launched_at"`
	Links            []struct {
		Href string `json:"href"`
		Rel  string `json:"rel"`
	} `json:"links"`
}

type goClient struct {
	base    string
	headers map[string]string
	hc      *http.Client
}

// call sends in (nil: no body) and decodes a JSON answer into out (nil:
// ignored); it returns the status and the response's headers.
func (c *goClient) call(method, url string, in, out any) (int, http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, resp.Header, err
	}
	if out != nil && resp.StatusCode < 300 && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: %w: %s", method, url, err, data)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	return resp.StatusCode, resp.Header, nil
}

func TestMoganPlainGoClient(t *testing.T) {
	n := startNode(t)
	hc := &http.Client{Timeout: 10 * time.Second}
	admin := &goClient{hc: hc, headers: map[string]string{"X-Project-Id": "ops", "X-Roles": "admin"}}
	user := &goClient{hc: hc, headers: map[string]string{"X-Project-Id": "go-user", "X-Roles": "member"}}
	mogan := "http://" + n.MoganAddr
	must := func(status int, want int, err error) {
		t.Helper()
		if err != nil || status != want {
			t.Fatalf("status %d (want %d): %v", status, want, err)
		}
	}

	// An operator registers a host (Blazar) and an instance type (Mogan).
	st, _, err := admin.call("POST", "http://"+n.BlazarAddr+"/v1/os-hosts", map[string]string{"name": "go-host", "power_driver": "fake"}, nil)
	must(st, 201, err)
	var ty struct {
		UUID string `json:"uuid"`
	}
	st, _, err = admin.call("POST", mogan+"/v1/types", map[string]any{"name": "go-metal"}, &ty)
	must(st, 201, err)

	// create
	var x goInstance
	st, hdr, err := user.call("POST", mogan+"/v1/instances", map[string]any{
		"name": "from-go", "image_uuid": moganImage, "instance_type_uuid": ty.UUID,
		"networks": []map[string]string{{"net_id": moganNet}}}, &x)
	must(st, 201, err)
	if x.UUID == "" || x.Status != "building" || hdr.Get("Location") != mogan+"/v1/instances/"+x.UUID {
		t.Fatalf("created %+v, Location %q", x, hdr.Get("Location"))
	}
	self := mogan + "/v1/instances/" + x.UUID

	// show, until active
	deadline := time.Now().Add(20 * time.Second)
	for x.Status != "active" {
		if time.Now().After(deadline) {
			t.Fatalf("not active: %+v", x)
		}
		time.Sleep(100 * time.Millisecond)
		st, _, err = user.call("GET", self, nil, &x)
		must(st, 200, err)
	}
	if x.PowerState == nil || *x.PowerState != "power on" || x.LaunchedAt == nil || len(x.Links) != 2 || x.Links[0].Href != self {
		t.Fatalf("active: %+v", x)
	}
	if _, ok := x.NetworkInfo[moganNet]; !ok {
		t.Fatalf("network_info: %v", x.NetworkInfo)
	}

	// list
	var list struct {
		Instances []goInstance `json:"instances"`
	}
	st, _, err = user.call("GET", mogan+"/v1/instances", nil, &list)
	must(st, 200, err)
	if len(list.Instances) != 1 || list.Instances[0].UUID != x.UUID || list.Instances[0].Name != "from-go" {
		t.Fatalf("list: %+v", list)
	}

	// patch (RFC 6902)
	st, _, err = user.call("PATCH", self, []map[string]any{
		{"op": "replace", "path": "/name", "value": "renamed"},
		{"op": "add", "path": "/extra/owner", "value": "go"}}, &x)
	must(st, 200, err)
	if x.Name != "renamed" || x.Extra["owner"] != "go" {
		t.Fatalf("patched: %+v", x)
	}

	// power off, then on: 202 with the states' Location, then settled
	for _, c := range []struct{ target, status, power string }{{"off", "stopped", "power off"}, {"on", "active", "power on"}} {
		st, hdr, err = user.call("PUT", self+"/states/power", map[string]string{"target": c.target}, nil)
		must(st, 202, err)
		if hdr.Get("Location") != self+"/states" {
			t.Fatalf("power %s Location %q", c.target, hdr.Get("Location"))
		}
		var states struct {
			PowerState       *string `json:"power_state"`
			TargetPowerState *string `json:"target_power_state"`
		}
		deadline := time.Now().Add(20 * time.Second)
		for states.PowerState == nil || *states.PowerState != c.power || states.TargetPowerState != nil {
			if time.Now().After(deadline) {
				t.Fatalf("power %s: states %+v", c.target, states)
			}
			time.Sleep(100 * time.Millisecond)
			st, _, err = user.call("GET", self+"/states", nil, &states)
			must(st, 200, err)
		}
		st, _, err = user.call("GET", self, nil, &x)
		must(st, 200, err)
		if x.Status != c.status {
			t.Fatalf("after power %s: %+v", c.target, x)
		}
	}

	// delete: 204, then 404
	st, _, err = user.call("DELETE", self, nil, nil)
	must(st, 204, err)
	deadline = time.Now().Add(20 * time.Second)
	for {
		st, _, _ = user.call("GET", self, nil, nil)
		if st == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after delete", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
