package api

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"keel/agent/topology"
)

func call(h fasthttp.RequestHandler, method, path, body string) (int, map[string]any) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.SetBodyString(body)
	h(&ctx)
	var out map[string]any
	json.Unmarshal(ctx.Response.Body(), &out)
	return ctx.Response.StatusCode(), out
}

// While a topology transition runs, every mutating endpoint answers 503 and reads
// still work; once it ends, the gate opens.
func TestTopologyTransitionGate(t *testing.T) {
	release := make(chan struct{})
	topo, err := topology.Load(filepath.Join(t.TempDir(), "t.json"), func(context.Context, topology.State, topology.State) error {
		<-release
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(Deps{AmphoraID: "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce", Topology: topo})
	status, body := call(h, "POST", "/v0.1/topology", `{"topology":"ACTIVE-ACTIVE"}`)
	if status != 202 || body["message"] != "OK" {
		t.Fatalf("slow transition: %d %v", status, body)
	}
	l := "/v0.1/listeners/04bff5c3-5862-4a13-b9e3-9b440d0ed50a"
	for _, r := range [][2]string{
		{"POST", "/v0.1/topology"}, {"PUT", l + "/start"}, {"PUT", l + "/reload"}, {"DELETE", l},
		{"PUT", "/v0.1/listeners/6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce/04bff5c3-5862-4a13-b9e3-9b440d0ed50a/haproxy"},
		{"PUT", l + "/certificates/a.pem"}, {"DELETE", l + "/certificates/a.pem"},
		{"POST", "/v0.1/plug/vip/203.0.113.2"}, {"POST", "/v0.1/plug/network/"},
	} {
		status, body := call(h, r[0], r[1], `{"topology":"SINGLE"}`)
		if status != 503 || body["message"] != "Topology transition in progress" {
			t.Errorf("%s %s during transition: %d %v", r[0], r[1], status, body)
		}
	}
	status, body = call(h, "GET", "/v0.1/topology", "")
	if status != 200 || body["topology_status"] != "TOPOLOGY-CHANGE" {
		t.Fatalf("GET topology during transition: %d %v", status, body)
	}
	close(release)
	if !topo.Wait(5 * time.Second) {
		t.Fatal("transition did not end")
	}
	status, body = call(h, "GET", "/v0.1/topology", "")
	if status != 200 || body["topology"] != "ACTIVE-ACTIVE" || body["topology_status"] != "OK" {
		t.Fatalf("after transition: %d %v", status, body)
	}
	status, _ = call(h, "POST", "/v0.1/topology", `{"topology":"SINGLE"}`)
	if status != 200 {
		t.Fatalf("quick transition: %d", status)
	}
}
