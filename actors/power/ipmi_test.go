package power_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"keel/actors/power"
	"keel/cluster/systemtest"
)

// startBMCs starts n real BMCs (OpenIPMI's ipmi_sim) on loopback ports.
func startBMCs(t *testing.T, n int) ([]*systemtest.BMC, []power.BMC) {
	t.Helper()
	if !systemtest.IPMISimInstalled() {
		t.Fatal("ipmi_sim and ipmitool are needed (make deps installs openipmi and ipmitool)")
	}
	sims := make([]*systemtest.BMC, n)
	bmcs := make([]power.BMC, n)
	for i := range sims {
		sims[i] = systemtest.StartBMC(t)
		bmcs[i] = power.BMC{Address: sims[i].Address, Port: sims[i].Port, Username: sims[i].Username,
			Password: sims[i].Password}
	}
	return sims, bmcs
}

func wantState(t *testing.T, d power.Driver, b power.BMC, want power.PowerState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := d.State(ctx, b)
	if err != nil {
		t.Fatalf("State(%s): %v", b.Endpoint(), err)
	}
	if s != want {
		t.Fatalf("State(%s) = %v, want %v", b.Endpoint(), s, want)
	}
}

// set runs one action and logs how long the BMC took to report its target state
// (read at the BMC with ipmitool, as an operator would), measured from the call.
func set(t *testing.T, d power.Driver, sim *systemtest.BMC, b power.BMC, a power.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := d.Set(ctx, b, a); err != nil {
		t.Fatalf("Set(%s, %s): %v", b.Endpoint(), a, err)
	}
	returned := time.Since(start)
	sim.WaitPower(t, a.Target() == power.On, 10*time.Second)
	t.Logf("%-11s at %s: Set returned after %v, BMC reported %v after %v", a, b.Endpoint(),
		returned.Round(time.Millisecond), a.Target(), time.Since(start).Round(time.Millisecond))
}

// TestIPMIPowerActions drives every action through the ipmi driver against two
// real BMCs, checks each result at the BMC and through State, and checks that one
// BMC's actions leave the other alone.
func TestIPMIPowerActions(t *testing.T) {
	sims, bmcs := startBMCs(t, 2)
	d := &power.IPMI{Poll: 100 * time.Millisecond, SoftTimeout: 10 * time.Second}
	for i := range bmcs {
		wantState(t, d, bmcs[i], power.Off) // ipmi_sim's host starts off
	}
	a, b := bmcs[0], bmcs[1]
	simA, simB := sims[0], sims[1]

	set(t, d, simA, a, power.ActionOn)
	wantState(t, d, a, power.On)
	wantState(t, d, b, power.Off)
	set(t, d, simA, a, power.ActionOn) // on → on
	wantState(t, d, a, power.On)

	set(t, d, simB, b, power.ActionOn)
	set(t, d, simA, a, power.ActionOff)
	wantState(t, d, a, power.Off)
	wantState(t, d, b, power.On)
	set(t, d, simA, a, power.ActionOff) // off → off
	wantState(t, d, a, power.Off)

	// reboot of a host that is on: a power cycle, off then on again (ipmi_sim
	// powers back on about a second later).
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Set(ctx, b, power.ActionReboot); err != nil {
		t.Fatal(err)
	}
	if simB.PowerOn(t) {
		t.Log("reboot: host already back on when first read")
	} else {
		t.Logf("reboot: BMC reports off %v after the request", time.Since(start).Round(time.Millisecond))
	}
	simB.WaitPower(t, true, 10*time.Second)
	t.Logf("reboot      at %s: BMC reported power on again after %v", b.Endpoint(),
		time.Since(start).Round(time.Millisecond))
	wantState(t, d, b, power.On)

	// reboot of a host that is off powers it on.
	set(t, d, simA, a, power.ActionReboot)
	wantState(t, d, a, power.On)

	set(t, d, simA, a, power.ActionSoftOff)
	wantState(t, d, a, power.Off)
	wantState(t, d, b, power.On)

	set(t, d, simB, b, power.ActionSoftReboot) // on → soft off → on
	wantState(t, d, b, power.On)
	set(t, d, simA, a, power.ActionSoftReboot) // off → on
	wantState(t, d, a, power.On)

	// Behind keel's back: an operator powers a host off at its BMC.
	simA.SetPower(t, false)
	wantState(t, d, a, power.Off)
	wantState(t, d, b, power.On)
}

func noPassword(t *testing.T, err error, passwords ...string) {
	t.Helper()
	for _, p := range passwords {
		if p != "" && strings.Contains(err.Error(), p) {
			t.Errorf("error contains a password: %v", err)
		}
	}
}

// TestIPMIBadPassword: a wrong password is an error that names the BMC and says
// authentication failed, without either password, and changes nothing.
func TestIPMIBadPassword(t *testing.T) {
	sims, bmcs := startBMCs(t, 1)
	d := &power.IPMI{}
	bad := bmcs[0]
	bad.Password = "wrong-" + sims[0].Password[:8] // IPMI passwords: 20 bytes at most
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	s, err := d.State(ctx, bad)
	if err == nil {
		t.Fatalf("State with a bad password = %v, no error", s)
	}
	t.Logf("State with a bad password (%v): %v", time.Since(start).Round(time.Millisecond), err)
	if s != power.Unknown {
		t.Errorf("state %v, want unknown", s)
	}
	var pe *power.Error
	if !errors.As(err, &pe) || pe.Endpoint != bad.Endpoint() || !strings.Contains(err.Error(), bad.Endpoint()) {
		t.Errorf("error does not name the BMC: %#v", err)
	}
	noPassword(t, err, bad.Password, sims[0].Password)
	if !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("error does not say authentication failed: %v", err)
	}
	err = d.Set(ctx, bad, power.ActionOn)
	if err == nil {
		t.Fatal("Set with a bad password worked")
	}
	t.Logf("Set with a bad password: %v", err)
	noPassword(t, err, bad.Password, sims[0].Password)
	if sims[0].PowerOn(t) {
		t.Error("the host was powered on with a bad password")
	}
	// A wrong user name too.
	badUser := bmcs[0]
	badUser.Username = "nobody"
	if _, err := d.State(ctx, badUser); err == nil {
		t.Error("State with an unknown user worked")
	} else {
		t.Logf("State with an unknown user: %v", err)
		noPassword(t, err, badUser.Password)
		if !strings.Contains(err.Error(), "authentication failed") {
			t.Errorf("error does not say authentication failed: %v", err)
		}
	}
}

// TestIPMIUnreachable: a BMC that does not answer fails within a bound, whether
// nothing listens on its port or something swallows every datagram.
func TestIPMIUnreachable(t *testing.T) {
	secret := "never-shown-secret"
	// Nothing listens: the kernel answers with ICMP port unreachable.
	closed := power.BMC{Address: "127.0.0.1", Port: systemtest.FreePort(t), Username: "admin", Password: secret}
	// A black hole: a socket that reads and never answers.
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := hole.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	silent := power.BMC{Address: "127.0.0.1", Port: hole.LocalAddr().(*net.UDPAddr).Port, Username: "admin",
		Password: secret}

	d := &power.IPMI{} // defaults: -N 1 -R 2, 20s per call
	for _, b := range []power.BMC{closed, silent} {
		start := time.Now()
		s, err := d.State(context.Background(), b)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("State(%s) = %v, no error", b.Endpoint(), s)
		}
		t.Logf("unreachable %s: error after %v: %v", b.Endpoint(), took.Round(time.Millisecond), err)
		if took > 20*time.Second+3*time.Second {
			t.Errorf("not bounded: %v", took)
		}
		noPassword(t, err, secret)
		if !strings.Contains(err.Error(), b.Endpoint()) {
			t.Errorf("error does not name the BMC: %v", err)
		}
	}
	// The caller's deadline bounds a call too, whatever ipmitool's retries.
	slow := &power.IPMI{Retransmit: 5 * time.Second, Retries: 5}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = slow.Set(ctx, silent, power.ActionOn)
	took := time.Since(start)
	if err == nil {
		t.Fatal("Set to a black hole worked")
	}
	t.Logf("black hole with a 1.5s deadline: error after %v: %v", took.Round(time.Millisecond), err)
	if took > 5*time.Second {
		t.Errorf("deadline not honoured: %v", took)
	}
	if !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("error does not say the BMC did not answer: %v", err)
	}
	noPassword(t, err, secret)
}

// TestIPMIConcurrent: goroutines drive two real BMCs at once through one driver
// (calls to one BMC are serialised by the driver, to different BMCs parallel);
// every call succeeds and each BMC ends in its last requested state.
func TestIPMIConcurrent(t *testing.T) {
	sims, bmcs := startBMCs(t, 2)
	d := &power.IPMI{}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	start := time.Now()
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := bmcs[g%2]
			for i := 0; i < 4; i++ {
				a := power.ActionOn
				if (g+i)%2 == 1 {
					a = power.ActionOff
				}
				if err := d.Set(ctx, b, a); err != nil {
					errs <- err
					return
				}
				if _, err := d.State(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("48 concurrent calls to 2 BMCs in %v", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, b := range bmcs {
		want := []power.Action{power.ActionOn, power.ActionOff}[i]
		if err := d.Set(ctx, b, want); err != nil {
			t.Fatal(err)
		}
		wantState(t, d, b, want.Target())
		if sims[i].PowerOn(t) != (want == power.ActionOn) {
			t.Errorf("BMC %s disagrees with %s", b.Endpoint(), want)
		}
	}
}

// TestIPMIPasswordNeverOnCommandLine runs the driver with a stand-in ipmitool
// that records its arguments: the password reaches it only through the
// environment (where /proc/<pid>/cmdline cannot show it), and a tool that echoes
// the password back in an error has it scrubbed from the driver's error.
func TestIPMIPasswordNeverOnCommandLine(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "ipmitool")
	script := "#!/bin/sh\necho \"$@\" > " + filepath.Join(dir, "argv") + "\n" +
		"echo \"$IPMI_PASSWORD\" > " + filepath.Join(dir, "env") + "\n" +
		"case \"$*\" in *status*) echo 'Chassis Power is on'; exit 0;; esac\n" +
		"echo \"login failed for password $IPMI_PASSWORD\" >&2; exit 1\n"
	if err := os.WriteFile(tool, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	d := &power.IPMI{Tool: tool}
	b := power.BMC{Address: "127.0.0.1", Port: 6230, Username: "admin", Password: "s3cr3t-pw"}
	s, err := d.State(context.Background(), b)
	if err != nil || s != power.On {
		t.Fatalf("State = %v, %v", s, err)
	}
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	if strings.Contains(string(argv), b.Password) {
		t.Errorf("password on ipmitool's command line: %s", argv)
	}
	for _, want := range []string{"-I lanplus", "-H 127.0.0.1", "-p 6230", "-U admin", "-E", "-C 3", "power status"} {
		if !strings.Contains(string(argv), want) {
			t.Errorf("argv %q lacks %q", argv, want)
		}
	}
	if strings.TrimSpace(string(env)) != b.Password {
		t.Errorf("IPMI_PASSWORD = %q", env)
	}
	err = d.Set(context.Background(), b, power.ActionOff)
	if err == nil {
		t.Fatal("Set worked with a failing tool")
	}
	if strings.Contains(err.Error(), b.Password) || !strings.Contains(err.Error(), "****") {
		t.Errorf("echoed password not scrubbed: %v", err)
	}
	t.Logf("scrubbed: %v", err)
}
