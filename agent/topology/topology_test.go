package topology

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	bad := map[Request]string{
		{Topology: "BAD_TEST_DATA"}: "Unknown topology: BAD_TEST_DATA",
		{Topology: ActiveStandby, Role: "BOSS", HAIP: "203.0.113.2", Secret: "s"}: "Unknown role: BOSS",
		{Topology: ActiveStandby, Role: RoleActive, HAIP: "x", Secret: "s"}:       "Invalid ha_ip",
		{Topology: ActiveStandby, Role: RoleActive, HAIP: "203.0.113.2"}:          "secret is required",
		{Topology: Single, HAIP: "203.0.113.2"}:                                   "only applicable",
	}
	for req, want := range bad {
		_, err := req.Validate()
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(ie.Details, want) {
			t.Errorf("%+v: %v, want %q", req, err, want)
		}
	}
	s, err := Request{Topology: ActiveStandby, Role: RoleStandby, HAIP: " 203.0.113.2"[1:], Secret: "x"}.Validate()
	if err != nil || s.HAIP != "203.0.113.2" {
		t.Fatal(s, err)
	}
}

func TestTransitionGateAndPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "topology.json")
	release := make(chan struct{})
	var applied []string
	apply := func(ctx context.Context, from, to State) error {
		applied = append(applied, from.Topology+"->"+to.Topology)
		<-release
		return nil
	}
	m, err := Load(path, apply)
	if err != nil {
		t.Fatal(err)
	}
	if s, st := m.Get(); s.Topology != Single || st != StatusOK {
		t.Fatal(s, st)
	}
	req := Request{Topology: ActiveStandby, Role: RoleActive, HAIP: "203.0.113.2", Secret: "b20e"}
	completed, err := m.Set(req, 20*time.Millisecond)
	if err != nil || completed {
		t.Fatalf("Set = %v, %v; want in progress", completed, err)
	}
	if _, st := m.Get(); st != StatusChange || !m.Changing() {
		t.Fatal("not changing")
	}
	if _, err := m.Set(Request{Topology: Single}, time.Second); !errors.Is(err, ErrTransitionInProgress) {
		t.Fatalf("second Set: %v", err)
	}
	close(release)
	if !m.Wait(5 * time.Second) {
		t.Fatal("transition did not end")
	}
	if s, st := m.Get(); s.Topology != ActiveStandby || s.Role != RoleActive || st != StatusOK {
		t.Fatal(s, st)
	}
	m2, err := Load(path, apply)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := m2.Get(); s.Topology != ActiveStandby || s.Secret != "b20e" || s.HAIP != "203.0.113.2" {
		t.Fatalf("persisted %+v", s)
	}
	completed, err = m2.Set(Request{Topology: Single}, 5*time.Second)
	if err != nil || !completed {
		t.Fatalf("quick Set = %v, %v", completed, err)
	}
	if len(applied) != 2 || applied[1] != "ACTIVE-STANDBY->SINGLE" {
		t.Fatal(applied)
	}
}

func TestFailedTransitionKeepsState(t *testing.T) {
	m, _ := Load(filepath.Join(t.TempDir(), "t.json"), func(context.Context, State, State) error { return errors.New("boom") })
	if _, err := m.Set(Request{Topology: ActiveActive}, 5*time.Second); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatal(err)
	}
	if s, st := m.Get(); s.Topology != Single || st != StatusOK || m.LastError() != "boom" {
		t.Fatal(s, st, m.LastError())
	}
}
