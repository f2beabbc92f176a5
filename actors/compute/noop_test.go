package compute

import (
	"context"
	"strings"
	"testing"
	"time"
)

func testSpec(id string) Spec {
	return Spec{AmphoraID: id, ServerCert: []byte("cert"), ServerKey: []byte("key"), ClientCA: []byte("ca"),
		HeartbeatKey: "k", Controllers: []string{"127.0.0.1:5555"}, HeartbeatInterval: time.Second, VIP: "127.0.100.5"}
}

func TestNoop(t *testing.T) {
	ctx := context.Background()
	var d Driver = NewNoop()
	n := d.(*Noop)
	id := "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce"
	in, err := d.Build(ctx, testSpec(id))
	if err != nil || in.State != Running || in.AmphoraID != id || in.VIP != "127.0.100.5" || in.ComputeID == "" ||
		!strings.HasPrefix(in.NetworkIP(), "172.") {
		t.Fatalf("build: %+v %v", in, err)
	}
	again, _ := d.Build(ctx, testSpec(id))
	if again != in {
		t.Fatalf("second build of the same amphora: %+v, first %+v", again, in)
	}
	if st, err := d.Status(ctx, in.ComputeID); err != nil || st != in {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := d.SetControllers(ctx, in.ComputeID, []string{"127.0.0.2:5555"}); err != nil {
		t.Fatal(err)
	}
	if l, _ := d.List(ctx); len(l) != 1 || l[0] != in {
		t.Fatalf("list: %+v", l)
	}
	if err := d.Delete(ctx, in.ComputeID); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, in.ComputeID); err != nil {
		t.Fatal("second delete:", err)
	}
	if st, _ := d.Status(ctx, in.ComputeID); st.State != Gone {
		t.Fatalf("status after delete: %+v", st)
	}
	var ops []string
	for _, c := range n.Calls() {
		ops = append(ops, c.Op)
	}
	if got := strings.Join(ops, ","); got != "build,build,status,set-controllers,list,delete,delete,status" {
		t.Fatalf("calls: %s", got)
	}
	if _, err := d.Build(ctx, Spec{AmphoraID: "nope"}); err == nil {
		t.Fatal("bad spec accepted")
	}
	b, _ := d.Build(ctx, testSpec("7e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce"))
	n.Vanish(b.ComputeID)
	if st, _ := d.Status(ctx, b.ComputeID); st.State != Gone {
		t.Fatalf("vanished: %+v", st)
	}
}

func TestSpecCheck(t *testing.T) {
	s := testSpec("6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce")
	s.ServerKey, s.HeartbeatKey = nil, ""
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "missing server key, heartbeat key") {
		t.Fatalf("missing: %v", err)
	}
	s = testSpec("6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce")
	s.Controllers = []string{"127.0.0.1"}
	if err := s.Check(); err == nil {
		t.Fatal("controller without port accepted")
	}
	s = testSpec("6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce")
	s.HeartbeatInterval = 0
	if err := s.Check(); err == nil {
		t.Fatal("zero interval accepted")
	}
}
