package power

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// IPMI is the "ipmi" driver: IPMI 2.0 over LAN (RMCP+, ipmitool's lanplus
// interface) through Debian's ipmitool, one ipmitool run per BMC request, as
// Ironic's ipmitool power interface does. The password goes to ipmitool in its
// environment (IPMI_PASSWORD, -E), never on its command line, where any local user
// could read it (/proc/<pid>/cmdline).
//
// Calls to one BMC are serialised (a BMC has a handful of session slots); calls
// to different BMCs run in parallel. The zero value is ready to use.
type IPMI struct {
	// Tool is ipmitool's path; default "ipmitool" (from PATH).
	Tool string
	// CipherSuite is the RMCP+ cipher suite (ipmitool -C); 0 means 3
	// (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128), the one every IPMI 2.0 BMC must
	// offer. Suite 17 (SHA-256) is better where the BMC has it.
	CipherSuite int
	// Timeout bounds one call when ctx has no earlier deadline; default 20s.
	Timeout time.Duration
	// Retransmit is ipmitool's per-request timeout (-N, whole seconds) and Retries
	// its retransmissions (-R): defaults 1s and 2, so an unanswered BMC fails in
	// a few seconds rather than ipmitool's default of about a minute.
	Retransmit time.Duration
	Retries    int
	// SoftTimeout bounds soft_reboot's wait for the host to power off; default
	// 120s (bounded by the call's context as well).
	SoftTimeout time.Duration
	// Poll is how often soft_reboot asks the BMC whether the host is off yet;
	// default 500ms.
	Poll time.Duration

	locks sync.Map // endpoint → chan struct{} (a lock that honours ctx)
}

func (d *IPMI) tool() string {
	if d.Tool != "" {
		return d.Tool
	}
	return "ipmitool"
}

// State runs `ipmitool power status`.
func (d *IPMI) State(ctx context.Context, bmc BMC) (PowerState, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	unlock, err := d.lock(ctx, bmc, "power status")
	if err != nil {
		return Unknown, err
	}
	defer unlock()
	return d.status(ctx, bmc)
}

func (d *IPMI) status(ctx context.Context, bmc BMC) (PowerState, error) {
	out, err := d.run(ctx, bmc, "power", "status")
	if err != nil {
		return Unknown, err
	}
	switch {
	case strings.Contains(out, "Chassis Power is on"):
		return On, nil
	case strings.Contains(out, "Chassis Power is off"):
		return Off, nil
	}
	return Unknown, &Error{Driver: "ipmi", Op: "power status", Endpoint: bmc.Endpoint(),
		Reason: "unexpected answer " + strconv.Quote(scrub(firstLine(out), bmc.Password))}
}

// Set carries out action:
//
//	on          chassis control 01h  (ipmitool power on)
//	off         chassis control 00h  (ipmitool power off: hard, immediate)
//	reboot      chassis control 02h  (ipmitool power cycle) when on; power on when off
//	soft_off    chassis control 05h  (ipmitool power soft: ACPI soft shutdown)
//	soft_reboot power soft, wait until the BMC reports off, then power on
func (d *IPMI) Set(ctx context.Context, bmc BMC, action Action) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	op := "power " + string(action)
	unlock, err := d.lock(ctx, bmc, op)
	if err != nil {
		return err
	}
	defer unlock()
	switch action {
	case ActionOn:
		_, err = d.run(ctx, bmc, "power", "on")
	case ActionOff:
		_, err = d.run(ctx, bmc, "power", "off")
	case ActionSoftOff:
		_, err = d.run(ctx, bmc, "power", "soft")
	case ActionReboot:
		var s PowerState
		if s, err = d.status(ctx, bmc); err == nil {
			if s == Off {
				// A power cycle of a host that is off does nothing (IPMI 2.0
				// §28.3); a reboot of one powers it on, as Ironic's does.
				_, err = d.run(ctx, bmc, "power", "on")
			} else {
				_, err = d.run(ctx, bmc, "power", "cycle")
			}
		}
	case ActionSoftReboot:
		err = d.softReboot(ctx, bmc)
	default:
		return &Error{Driver: "ipmi", Op: op, Endpoint: bmc.Endpoint(), Reason: "unknown action"}
	}
	return err
}

func (d *IPMI) softReboot(ctx context.Context, bmc BMC) error {
	s, err := d.status(ctx, bmc)
	if err != nil {
		return err
	}
	if s != Off {
		if _, err := d.run(ctx, bmc, "power", "soft"); err != nil {
			return err
		}
		soft := d.SoftTimeout
		if soft <= 0 {
			soft = 120 * time.Second
		}
		poll := d.Poll
		if poll <= 0 {
			poll = 500 * time.Millisecond
		}
		deadline := time.Now().Add(soft)
		for {
			s, err := d.status(ctx, bmc)
			if err == nil && s == Off {
				break
			}
			if time.Now().After(deadline) {
				return &Error{Driver: "ipmi", Op: "power soft_reboot", Endpoint: bmc.Endpoint(),
					Reason: fmt.Sprintf("host still on %s after the soft shutdown request", soft)}
			}
			select {
			case <-ctx.Done():
				return &Error{Driver: "ipmi", Op: "power soft_reboot", Endpoint: bmc.Endpoint(),
					Reason: "host not off before the call's deadline: " + ctx.Err().Error()}
			case <-time.After(poll):
			}
		}
	}
	_, err = d.run(ctx, bmc, "power", "on")
	return err
}

// bound gives ctx the driver's timeout unless it has an earlier deadline.
func (d *IPMI) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	t := d.Timeout
	if t <= 0 {
		t = 20 * time.Second
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < t {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, t)
}

// lock takes bmc's lock, or fails when ctx ends first.
func (d *IPMI) lock(ctx context.Context, bmc BMC, op string) (func(), error) {
	v, _ := d.locks.LoadOrStore(bmc.Endpoint(), make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, &Error{Driver: "ipmi", Op: op, Endpoint: bmc.Endpoint(),
			Reason: "waited for another request to this BMC until " + ctx.Err().Error()}
	}
}

// run runs one ipmitool command against bmc and returns its standard output.
func (d *IPMI) run(ctx context.Context, bmc BMC, args ...string) (string, error) {
	op := strings.Join(args, " ")
	if bmc.Address == "" {
		return "", &Error{Driver: "ipmi", Op: op, Endpoint: bmc.Endpoint(), Reason: "no BMC address"}
	}
	port := bmc.Port
	if port == 0 {
		port = DefaultPort
	}
	suite := d.CipherSuite
	if suite == 0 {
		suite = 3
	}
	retransmit := int(d.Retransmit / time.Second)
	if retransmit <= 0 {
		retransmit = 1
	}
	retries := d.Retries
	if retries <= 0 {
		retries = 2
	}
	argv := []string{"-I", "lanplus", "-H", bmc.Address, "-p", strconv.Itoa(port),
		"-C", strconv.Itoa(suite), "-N", strconv.Itoa(retransmit), "-R", strconv.Itoa(retries), "-E",
		// -v: without it ipmitool says only "Unable to establish IPMI v2 / RMCP+
		// session" for a bad password or user too; with it, what RAKP said.
		"-v"}
	if bmc.Username != "" {
		argv = append(argv, "-U", bmc.Username)
	}
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, d.tool(), argv...)
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C", "IPMI_PASSWORD=" + bmc.Password}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err == nil {
		return stdout.String(), nil
	}
	var reason string
	switch {
	case ctx.Err() != nil:
		reason = fmt.Sprintf("no answer within %s (%v)", time.Since(start).Round(time.Millisecond), ctx.Err())
	case errors.Is(err, exec.ErrNotFound):
		reason = "ipmitool is not installed (Debian package ipmitool)"
	default:
		reason = diagnose(stderr.String())
		if msg := scrub(lastLines(stderr.String(), 2), bmc.Password); msg != "" {
			reason += ": " + msg
		} else {
			reason += ": " + err.Error()
		}
	}
	return "", &Error{Driver: "ipmi", Op: op, Endpoint: bmc.Endpoint(), Reason: reason}
}

// diagnose turns ipmitool's complaints into what most likely failed.
func diagnose(stderr string) string {
	s := strings.ToLower(stderr)
	switch {
	case strings.Contains(s, "rakp 2 hmac is invalid"), strings.Contains(s, "unauthorized name"),
		strings.Contains(s, "invalid user name"), strings.Contains(s, "rakp 2 message indicates an error"),
		strings.Contains(s, "invalid integrity check"):
		return "authentication failed (check the BMC username and password)"
	case strings.Contains(s, "password is longer than"):
		return "the password is longer than IPMI allows (20 bytes)"
	case strings.Contains(s, "insufficient resources for session"):
		return "the BMC has no free session"
	case strings.Contains(s, "unable to establish"), strings.Contains(s, "no response"),
		strings.Contains(s, "get auth capabilities"), strings.Contains(s, "cipher suites"):
		return "no IPMI session (BMC unreachable, or it refused the session)"
	}
	return "ipmitool failed"
}

// scrub removes the password from text that came back from ipmitool, should a
// BMC or ipmitool ever echo it.
func scrub(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, "****")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lastLines is the last n non-empty lines of s, joined by "; ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(l, ">"))
		if l != "" && !strings.HasPrefix(l, "Loading IANA") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
