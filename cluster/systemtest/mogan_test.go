package systemtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mogan instances on real BMCs: OpenIPMI's ipmi_sim on loopback ports, hosts
// registered through the Blazar API with power_driver ipmi. The build powers
// the host on at its BMC, power actions through the API switch the BMC, a
// power change made at the BMC is noticed by the power sync, delete powers
// off and frees the host, a create with every host busy fails with "No valid
// host was found.", a lease's hosts serve only its reservation's instances
// and its end deletes them, its start deletes the other instances on them,
// and a build survives the kill -9 of the node running its grain.

const (
	moganImage = "7b4f5b46-0d5c-4a3c-9a5a-2f2b1c1e0d01"
	moganNet   = "c1a3e1a2-3b4c-4d5e-8f60-718293a4b5c6"
)

var moganProject = []string{"X-Project-Id: bm", "X-Roles: member"}

func needIPMISim(t *testing.T) {
	t.Helper()
	if !IPMISimInstalled() {
		t.Skip("ipmi_sim and ipmitool are not installed (Debian openipmi, ipmitool; make deps)")
	}
}

// bmcHost registers a host whose BMC is b.
func bmcHost(t *testing.T, n *Node, name string, b *BMC) {
	t.Helper()
	n.BlazarMustDo(201, "POST", "/v1/os-hosts", map[string]any{"name": name, "power_driver": "ipmi",
		"bmc_address": b.Address, "bmc_port": fmt.Sprint(b.Port), "bmc_username": b.Username, "bmc_password": b.Password})
}

func moganType(t *testing.T, n *Node) string {
	t.Helper()
	var ty struct{ UUID string }
	if err := json.Unmarshal(n.MoganMustDo(201, "POST", "/v1/types", map[string]any{"name": "metal"}).Body, &ty); err != nil || ty.UUID == "" {
		t.Fatalf("type: %v", err)
	}
	return ty.UUID
}

type instanceView struct {
	UUID       string `json:"uuid"`
	Status     string `json:"status"`
	PowerState any    `json:"power_state"`
	Fault      *struct {
		Message string `json:"message"`
	} `json:"fault"`
}

func createInstance(t *testing.T, n *Node, name, typeID string, hints map[string]any) string {
	t.Helper()
	body := map[string]any{"name": name, "image_uuid": moganImage, "instance_type_uuid": typeID,
		"networks": []any{map[string]any{"net_id": moganNet}}}
	if hints != nil {
		body["scheduler_hints"] = hints
	}
	var x instanceView
	if err := json.Unmarshal(n.MoganMustDo(201, "POST", "/v1/instances", body, moganProject...).Body, &x); err != nil || x.UUID == "" {
		t.Fatalf("create %s: %v", name, err)
	}
	return x.UUID
}

// getInstance is the instance, or nil once it is 404.
func getInstance(t *testing.T, n *Node, id string) *instanceView {
	t.Helper()
	r, err := n.MoganDo("GET", "/v1/instances/"+id, nil, moganProject...)
	if err != nil {
		t.Fatalf("show %s: %v", id, err)
	}
	if r.Status == 404 {
		return nil
	}
	var x instanceView
	if r.Status != 200 || json.Unmarshal(r.Body, &x) != nil {
		t.Fatalf("show %s: %d %s", id, r.Status, r.Body)
	}
	return &x
}

func waitInstance(t *testing.T, n *Node, id string, within time.Duration, what string, cond func(*instanceView) bool) *instanceView {
	t.Helper()
	var last *instanceView
	Eventually(t, within, "instance "+id+" "+what, func() bool {
		last = getInstance(t, n, id)
		return cond(last)
	})
	return last
}

func active(x *instanceView) bool {
	return x != nil && x.Status == "active" && x.PowerState == "power on"
}

func power(t *testing.T, n *Node, id, target string) *Response {
	t.Helper()
	r, err := n.MoganDo("PUT", "/v1/instances/"+id+"/states/power", map[string]string{"target": target}, moganProject...)
	if err != nil {
		t.Fatalf("power %s: %v", target, err)
	}
	return r
}

// poweredOn is the BMCs reporting power on.
func poweredOn(t *testing.T, bmcs []*BMC) []*BMC {
	var on []*BMC
	for _, b := range bmcs {
		if b.PowerOn(t) {
			on = append(on, b)
		}
	}
	return on
}

func TestMoganOnIPMIBMCs(t *testing.T) {
	needIPMISim(t)
	bmcs := []*BMC{StartBMC(t), StartBMC(t), StartBMC(t)}
	n := NewNode(t, "mogan")
	n.ExtraArgs = []string{"-power-sync-interval", "500ms"}
	n.StartHealthy(60 * time.Second)
	for i, b := range bmcs {
		bmcHost(t, n, fmt.Sprintf("bm-%d", i), b)
	}
	typeID := moganType(t, n)

	a := createInstance(t, n, "a", typeID, nil)
	waitInstance(t, n, a, 30*time.Second, "active", active)
	on := poweredOn(t, bmcs)
	if len(on) != 1 {
		t.Fatalf("%d BMCs on after one build, want 1", len(on))
	}
	bmcA := on[0]

	t.Run("power through the API switches the BMC", func(t *testing.T) {
		// The BMC is frozen (SIGSTOP) so the off is surely still running when
		// the second action comes: 409, and target_power_state says where
		// the first is heading.
		if err := syscall.Kill(bmcA.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		thawed := false
		thaw := func() {
			if !thawed {
				thawed = true
				_ = syscall.Kill(bmcA.cmd.Process.Pid, syscall.SIGCONT)
			}
		}
		t.Cleanup(thaw)
		start := time.Now()
		if r := power(t, n, a, "off"); r.Status != 202 {
			t.Fatalf("off: %d %s", r.Status, r.Body)
		}
		r := power(t, n, a, "on")
		if r.Status != 409 || !strings.Contains(string(r.Body), "has a power action in progress") {
			t.Fatalf("second action while the first runs: %d %s", r.Status, r.Body)
		}
		var st map[string]any
		if err := json.Unmarshal(n.MoganMustDo(200, "GET", "/v1/instances/"+a+"/states", nil, moganProject...).Body, &st); err != nil ||
			st["target_power_state"] != "power off" {
			t.Fatalf("states while powering off: %v %v", st, err)
		}
		thaw()
		bmcA.WaitPower(t, false, 20*time.Second)
		waitInstance(t, n, a, 20*time.Second, "stopped", func(x *instanceView) bool { return x.Status == "stopped" && x.PowerState == "power off" })
		t.Logf("power off: API to BMC off and status stopped in %v", time.Since(start))
		if r := power(t, n, a, "off"); r.Status != 400 {
			t.Fatalf("off while stopped: %d %s", r.Status, r.Body)
		}
		if r := power(t, n, a, "on"); r.Status != 202 {
			t.Fatalf("on: %d %s", r.Status, r.Body)
		}
		bmcA.WaitPower(t, true, 20*time.Second)
		waitInstance(t, n, a, 20*time.Second, "active", active)
		if r := power(t, n, a, "reboot"); r.Status != 202 {
			t.Fatalf("reboot: %d %s", r.Status, r.Body)
		}
		waitInstance(t, n, a, 20*time.Second, "active after reboot", active)
		bmcA.WaitPower(t, true, 20*time.Second)
	})

	t.Run("a power off at the BMC is noticed", func(t *testing.T) {
		bmcA.SetPower(t, false)
		start := time.Now()
		waitInstance(t, n, a, 15*time.Second, "power off", func(x *instanceView) bool { return x.PowerState == "power off" })
		t.Logf("noticed %v after the BMC was switched off", time.Since(start))
		if r := power(t, n, a, "on"); r.Status != 202 {
			t.Fatalf("on after the outside off: %d %s", r.Status, r.Body)
		}
		bmcA.WaitPower(t, true, 20*time.Second)
		waitInstance(t, n, a, 20*time.Second, "active", active)
	})

	var b, c string
	t.Run("three hosts busy: the fourth create finds no valid host", func(t *testing.T) {
		b = createInstance(t, n, "b", typeID, nil)
		c = createInstance(t, n, "c", typeID, nil)
		waitInstance(t, n, b, 30*time.Second, "active", active)
		waitInstance(t, n, c, 30*time.Second, "active", active)
		if on := poweredOn(t, bmcs); len(on) != 3 {
			t.Fatalf("%d BMCs on with three instances", len(on))
		}
		d := createInstance(t, n, "d", typeID, nil)
		x := waitInstance(t, n, d, 20*time.Second, "error", func(x *instanceView) bool { return x.Status == "error" })
		if x.Fault == nil || x.Fault.Message != "No valid host was found." {
			t.Fatalf("fault: %+v", x.Fault)
		}
		n.MoganMustDo(204, "DELETE", "/v1/instances/"+d, nil, moganProject...)
		waitInstance(t, n, d, 20*time.Second, "gone", func(x *instanceView) bool { return x == nil })
	})

	t.Run("delete powers the host off and frees it", func(t *testing.T) {
		n.MoganMustDo(204, "DELETE", "/v1/instances/"+a, nil, moganProject...)
		bmcA.WaitPower(t, false, 20*time.Second)
		waitInstance(t, n, a, 20*time.Second, "gone", func(x *instanceView) bool { return x == nil })
		e := createInstance(t, n, "e", typeID, nil)
		waitInstance(t, n, e, 30*time.Second, "active on the freed host", active)
		if !bmcA.PowerOn(t) {
			t.Fatal("the freed host was not used")
		}
		for _, id := range []string{b, c, e} {
			n.MoganMustDo(204, "DELETE", "/v1/instances/"+id, nil, moganProject...)
		}
		for _, id := range []string{b, c, e} {
			waitInstance(t, n, id, 30*time.Second, "gone", func(x *instanceView) bool { return x == nil })
		}
		if on := poweredOn(t, bmcs); len(on) != 0 {
			t.Fatalf("%d BMCs still on after every delete", len(on))
		}
	})
}

func TestMoganLeaseEndToEnd(t *testing.T) {
	needIPMISim(t)
	bmcs := []*BMC{StartBMC(t), StartBMC(t)}
	n := NewNode(t, "lease")
	n.StartHealthy(60 * time.Second)
	bmcHost(t, n, "reserved", bmcs[0])
	bmcHost(t, n, "open", bmcs[1])
	typeID := moganType(t, n)

	end := time.Now().Add(25 * time.Second)
	r := n.BlazarMustDo(201, "POST", "/v1/leases", hostLease("metal", "now", secondsDate(end), "reserved"), moganProject...)
	l := decodeLeaseView(t, r.Body)
	n.WaitLeaseStatus(l.ID, "ACTIVE", 5*time.Second)
	if len(l.Reservations) != 1 {
		t.Fatalf("reservations: %s", r.Body)
	}
	resv := l.Reservations[0].ID

	// An instance without the hint never takes the lease's host.
	other := createInstance(t, n, "other", typeID, nil)
	waitInstance(t, n, other, 30*time.Second, "active", active)
	if !bmcs[1].PowerOn(t) || bmcs[0].PowerOn(t) {
		t.Fatal("the instance without a reservation hint did not land on the open host")
	}
	inLease := createInstance(t, n, "in-lease", typeID, map[string]any{"reservation": resv})
	waitInstance(t, n, inLease, 30*time.Second, "active", active)
	if !bmcs[0].PowerOn(t) {
		t.Fatal("the reserved host's BMC is not on")
	}
	// The reserved host is taken: another instance of the reservation finds none.
	extra := createInstance(t, n, "extra", typeID, map[string]any{"reservation": resv})
	waitInstance(t, n, extra, 20*time.Second, "error", func(x *instanceView) bool { return x.Status == "error" })

	// end_lease deletes the reservation's instances and powers their hosts off.
	n.WaitLeaseStatus(l.ID, "TERMINATED", time.Until(end)+15*time.Second)
	waitInstance(t, n, inLease, 30*time.Second, "deleted at the lease's end", func(x *instanceView) bool { return x == nil })
	bmcs[0].WaitPower(t, false, 20*time.Second)
	if x := getInstance(t, n, other); !active(x) || !bmcs[1].PowerOn(t) {
		t.Fatalf("the instance outside the lease was touched: %+v", x)
	}
}

// start_lease preempts (Blazar's on_start): an instance without the lease's
// reservation that took the host while the lease was PENDING is deleted when
// the lease starts and the BMC powered off; the host then serves the
// reservation's instance only.
func TestMoganStartLeasePreempts(t *testing.T) {
	needIPMISim(t)
	bmc := StartBMC(t)
	n := NewNode(t, "preempt")
	n.StartHealthy(60 * time.Second)
	bmcHost(t, n, "soon-reserved", bmc)
	typeID := moganType(t, n)

	early := createInstance(t, n, "early", typeID, nil)
	waitInstance(t, n, early, 30*time.Second, "active", active)
	if !bmc.PowerOn(t) {
		t.Fatal("the BMC is not on under the early instance")
	}
	start := time.Now().Add(8 * time.Second).Truncate(time.Second) // the date's precision
	r := n.BlazarMustDo(201, "POST", "/v1/leases", hostLease("soon", secondsDate(start), secondsDate(start.Add(time.Hour)), "soon-reserved"),
		moganProject...)
	l := decodeLeaseView(t, r.Body)
	if x := getInstance(t, n, early); !active(x) {
		t.Fatalf("the early instance before the lease started: %+v", x)
	}
	n.WaitLeaseStatus(l.ID, "ACTIVE", time.Until(start)+15*time.Second)
	waitInstance(t, n, early, 30*time.Second, "preempted at start_lease", func(x *instanceView) bool { return x == nil })
	bmc.WaitPower(t, false, 20*time.Second)
	t.Logf("preempted %v after the lease's start", time.Since(start).Round(100*time.Millisecond))

	ordinary := createInstance(t, n, "ordinary", typeID, nil)
	x := waitInstance(t, n, ordinary, 20*time.Second, "error", func(x *instanceView) bool { return x.Status == "error" })
	if x.Fault == nil || x.Fault.Message != "No valid host was found." {
		t.Fatalf("ordinary instance on the ACTIVE lease's host: %+v", x.Fault)
	}
	inLease := createInstance(t, n, "in-lease", typeID, map[string]any{"reservation": l.Reservations[0].ID})
	waitInstance(t, n, inLease, 30*time.Second, "active", active)
	bmc.WaitPower(t, true, 20*time.Second)
}

// kill -9 of the node running an instance grain while the build waits on the
// BMC: the build completes or goes to error elsewhere; nothing stays building.
// The BMCs are frozen (SIGSTOP) so the builds are surely in flight (the
// grain keeps itself active while its BMC call runs); the victim is the node
// that hosts the first instance's Instance grain, as every node's GET
// /debug/grains/Instance/<uuid> reports (GrainHost): the kill is of exactly
// that node, every run.
func TestMoganBuildSurvivesKill(t *testing.T) {
	needIPMISim(t)
	var bmcs []*BMC
	for range 3 {
		bmcs = append(bmcs, StartBMC(t))
	}
	nodes := StartCluster(t, 3)
	WaitConverged(t, nodes, 3, 30*time.Second)
	for i, b := range bmcs {
		bmcHost(t, nodes[0], fmt.Sprintf("k-%d", i), b)
	}
	typeID := moganType(t, nodes[0])
	for _, b := range bmcs {
		if err := syscall.Kill(b.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			for _, b := range bmcs {
				_ = syscall.Kill(b.cmd.Process.Pid, syscall.SIGCONT)
			}
		}
	}
	t.Cleanup(thaw)

	var ids []string
	for i := range 3 {
		ids = append(ids, createInstance(t, nodes[i], fmt.Sprintf("k%d", i), typeID, nil))
	}
	victim := GrainHost(t, nodes, "Instance", ids[0])
	for _, id := range ids {
		if x := getInstance(t, nodes[0], id); x == nil || x.Status != "building" {
			t.Fatalf("instance %s not building with its BMC frozen: %+v", id, x)
		}
	}
	victim.Kill()
	killed := time.Now()
	t.Logf("killed %s, host of instance %s's grain, mid-build", victim.Name, ids[0])
	thaw()
	var alive []*Node
	for _, n := range nodes {
		if n != victim {
			alive = append(alive, n)
		}
	}
	// Bound: the supervisor resumes a build untouched for 10 s every 2 s,
	// after a new leader if the victim led; a BMC call takes seconds.
	for _, id := range ids {
		x := waitInstance(t, alive[0], id, 90*time.Second, "settled", func(x *instanceView) bool {
			return x != nil && x.Status != "building"
		})
		switch {
		case x.Status == "error" && (x.Fault == nil || x.Fault.Message == ""):
			t.Fatalf("instance %s in error without a reason", id)
		case x.Status != "active" && x.Status != "error":
			t.Fatalf("instance %s ended %s", id, x.Status)
		}
		t.Logf("instance %s: %s %v (%v after the kill)", id, x.Status, x.PowerState, time.Since(killed).Round(time.Second))
	}
}
