package power_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"keel/actors/power"
)

func TestParseActionAndTargets(t *testing.T) {
	want := map[string]power.PowerState{"on": power.On, "off": power.Off, "reboot": power.On,
		"soft_off": power.Off, "soft_reboot": power.On}
	for name, target := range want {
		a, err := power.ParseAction(name)
		if err != nil {
			t.Fatalf("ParseAction(%q): %v", name, err)
		}
		if a.Target() != target {
			t.Errorf("%s.Target() = %v, want %v", name, a.Target(), target)
		}
	}
	for _, bad := range []string{"", "ON", "rebuild", "power on"} {
		if _, err := power.ParseAction(bad); err == nil {
			t.Errorf("ParseAction(%q) accepted", bad)
		}
	}
}

func TestForName(t *testing.T) {
	ipmi, err := power.ForName("ipmi")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ipmi.(*power.IPMI); !ok {
		t.Errorf("ForName(ipmi) = %T", ipmi)
	}
	f1, _ := power.ForName("fake")
	f2, _ := power.ForName("fake")
	if _, ok := f1.(*power.Fake); !ok || f1 != f2 {
		t.Errorf("ForName(fake) = %T %p, %p: want one shared *Fake", f1, f1, f2)
	}
	if _, err := power.ForName("redfish"); err == nil || !strings.Contains(err.Error(), "redfish") {
		t.Errorf("ForName(redfish) = %v", err)
	}
}

func TestBMCNeverPrintsPassword(t *testing.T) {
	b := power.BMC{Address: "127.0.0.1", Port: 6230, Username: "admin", Password: "hunter2-secret"}
	for _, s := range []string{fmt.Sprint(b), fmt.Sprintf("%v %+v %#v %s", b, b, b, b), fmt.Sprint(&b)} {
		if strings.Contains(s, b.Password) {
			t.Errorf("printed BMC contains the password: %s", s)
		}
	}
	if got := (power.BMC{Address: "10.0.0.1"}).Endpoint(); got != "10.0.0.1:623" {
		t.Errorf("default endpoint = %s", got)
	}
}

func TestFakeDriver(t *testing.T) {
	ctx := context.Background()
	f := power.NewFake()
	a := power.BMC{Address: "192.0.2.1", Username: "u", Password: "p"}
	b := power.BMC{Address: "192.0.2.2", Username: "u", Password: "p"}
	if s, err := f.State(ctx, a); err != nil || s != power.Off {
		t.Fatalf("new host: %v %v, want power off", s, err)
	}
	for _, step := range []struct {
		action power.Action
		want   power.PowerState
	}{
		{power.ActionOn, power.On}, {power.ActionOn, power.On}, {power.ActionReboot, power.On},
		{power.ActionSoftOff, power.Off}, {power.ActionReboot, power.On}, {power.ActionOff, power.Off},
		{power.ActionSoftReboot, power.On},
	} {
		if err := f.Set(ctx, a, step.action); err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
		if s, _ := f.State(ctx, a); s != step.want {
			t.Fatalf("after %s: %v, want %v", step.action, s, step.want)
		}
	}
	if s, _ := f.State(ctx, b); s != power.Off {
		t.Errorf("another BMC changed: %v", s)
	}
	if f.Calls(a) != 7 || f.Calls(b) != 0 {
		t.Errorf("calls a=%d b=%d", f.Calls(a), f.Calls(b))
	}
	// Behind the driver's back.
	f.Put(a, power.Off)
	if s, _ := f.State(ctx, a); s != power.Off {
		t.Errorf("after Put off: %v", s)
	}
	f.SetUnreachable(a, true)
	if s, err := f.State(ctx, a); err == nil || s != power.Unknown || !strings.Contains(err.Error(), "192.0.2.1:623") {
		t.Errorf("unreachable State: %v %v", s, err)
	}
	if err := f.Set(ctx, a, power.ActionOn); err == nil {
		t.Error("unreachable Set worked")
	}
	f.SetUnreachable(a, false)
	if err := f.Set(ctx, a, power.Action("explode")); err == nil {
		t.Error("unknown action accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.Set(cctx, a, power.ActionOn); err == nil {
		t.Error("Set with a cancelled context worked")
	}
}

// TestFakeConcurrent: many goroutines on a few BMCs (run with -race); each BMC
// ends in the state of its last request, and every request is counted.
func TestFakeConcurrent(t *testing.T) {
	ctx := context.Background()
	f := power.NewFake()
	bmcs := []power.BMC{{Address: "192.0.2.10"}, {Address: "192.0.2.11"}, {Address: "192.0.2.12"}}
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				b := bmcs[(g+i)%len(bmcs)]
				if err := f.Set(ctx, b, power.Actions[(g*7+i)%len(power.Actions)]); err != nil {
					t.Error(err)
					return
				}
				if s, err := f.State(ctx, b); err != nil || s == power.Unknown {
					t.Errorf("state %v %v", s, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	total := 0
	for _, b := range bmcs {
		total += f.Calls(b)
	}
	if total != 32*200 {
		t.Errorf("calls = %d, want %d", total, 32*200)
	}
	for _, b := range bmcs {
		if err := f.Set(ctx, b, power.ActionOff); err != nil {
			t.Fatal(err)
		}
		if s, _ := f.State(ctx, b); s != power.Off {
			t.Errorf("%s: %v after off", b.Endpoint(), s)
		}
	}
}
