package systemtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BMC is a real IPMI 2.0 BMC for tests: OpenIPMI's ipmi_sim (Debian openipmi,
// which make deps installs) on a free loopback UDP port, with one administrator
// and a chassis whose power really switches. ipmi_sim keeps the chassis's power
// through a chassis_control program (ipmi_lan(5)); this one keeps it in a file
// in the BMC's scratch directory, so power on/off/cycle/reset/soft all change
// what Get Chassis Status reports, as on a real host. A soft shutdown (chassis
// control 05h) powers the host off at once (no OS to wait for); a power cycle is
// off at once, then on again after about a second (ipmi_sim's own timer).
//
// The host starts powered off. The process never outlives the test binary
// (Pdeathsig) and is killed and reaped at the test's cleanup.
type BMC struct {
	Address  string // 127.0.0.1
	Port     int    // UDP
	Username string
	Password string

	dir     string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// IPMISimInstalled reports whether ipmi_sim and ipmitool are installed.
func IPMISimInstalled() bool {
	_, err1 := exec.LookPath("ipmi_sim")
	_, err2 := exec.LookPath("ipmitool")
	return err1 == nil && err2 == nil
}

// bmcChassis is ipmi_sim's chassis_control program: `chassis <state file> get
// power` prints "power:0|1"; `set power 0|1` switches, `set shutdown 1` (soft
// off) powers off, `set reset 1` keeps the power as it is (a reset pulse).
const bmcChassis = `#!/bin/sh
f="$1"; op="$2"; shift 2
[ -f "$f" ] || echo 0 > "$f"
case "$op" in
get)
  for p in "$@"; do
    case "$p" in
    power) echo "power:$(cat "$f")" ;;
    boot) echo "boot:default" ;;
    *) echo "unsupported parameter $p"; exit 1 ;;
    esac
  done ;;
set)
  while [ $# -gt 0 ]; do
    p="$1"; v="$2"; shift 2
    case "$p" in
    power) echo "$v" > "$f.new" && mv "$f.new" "$f" ;;
    shutdown) echo 0 > "$f.new" && mv "$f.new" "$f" ;;
    reset|boot|identify) ;;
    *) echo "unsupported parameter $p"; exit 1 ;;
    esac
  done ;;
check) ;;
*) echo "unsupported operation $op"; exit 1 ;;
esac
`

// bmcLanConf is ipmi_sim's configuration (ipmi_lan(5)): one LAN channel on the
// loopback port, RMCP+ (ipmi_sim offers cipher suites 0-3, no SHA-256), and user 2
// an administrator.
const bmcLanConf = `name "keel-bmc"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "{dir}/chassis {dir}/power"
  user 2 true "{user}" "{password}" admin 10 md5
`

// bmcCommands is ipmi_sim's start-up command file (ipmi_sim_cmd(5)): the BMC at
// IPMB 0x20, with chassis device support (0x9f has bit 7).
const bmcCommands = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02
mc_enable 0x20
`

// StartBMC starts a fresh ipmi_sim BMC and waits until it answers `ipmitool power
// status`; it is stopped when t's test ends.
func StartBMC(t T) *BMC {
	t.Helper()
	if !IPMISimInstalled() {
		t.Fatal("systemtest: ipmi_sim or ipmitool is not installed (make deps installs openipmi and ipmitool)")
	}
	dir, err := os.MkdirTemp("", "keel-bmc-")
	if err != nil {
		t.Fatal(err)
	}
	b := &BMC{Address: "127.0.0.1", Port: FreePort(t), Username: "admin",
		Password: fmt.Sprintf("pw-%08d", time.Now().UnixNano()%1e8), dir: dir,
		logPath: filepath.Join(dir, "ipmi_sim.log")}
	t.Cleanup(b.Stop)
	conf := strings.NewReplacer("{port}", strconv.Itoa(b.Port), "{dir}", dir, "{user}", b.Username,
		"{password}", b.Password).Replace(bmcLanConf)
	for name, content := range map[string]string{"lan.conf": conf, "commands.emu": bmcCommands, "power": "0\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "chassis"), []byte(bmcChassis), 0o700); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ipmi_sim", "-c", filepath.Join(dir, "lan.conf"), "-f", filepath.Join(dir, "commands.emu"),
		"-s", state, "-n")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(b.exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := b.Ipmitool("power", "status")
		if err == nil {
			return b
		}
		select {
		case <-b.exited:
			t.Fatalf("systemtest: ipmi_sim exited before it answered: %v\n%s", err, b.LogTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemtest: ipmi_sim on port %d not answering within 15s: %v\n%s", b.Port, err, b.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Endpoint is the BMC's "127.0.0.1:port".
func (b *BMC) Endpoint() string { return fmt.Sprintf("%s:%d", b.Address, b.Port) }

// Ipmitool runs ipmitool against the BMC as an operator would (lanplus, cipher
// suite 3, the password from the environment), bounded to 10 seconds, and returns
// its standard output.
func (b *BMC) Ipmitool(args ...string) (string, error) {
	return b.ipmitoolAs(b.Password, args...)
}

func (b *BMC) ipmitoolAs(password string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	argv := append([]string{"-I", "lanplus", "-H", b.Address, "-p", strconv.Itoa(b.Port), "-U", b.Username,
		"-E", "-C", "3", "-N", "1", "-R", "2"}, args...)
	cmd := exec.CommandContext(ctx, "ipmitool", argv...)
	cmd.Env = append(os.Environ(), "IPMI_PASSWORD="+password)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("ipmitool %s at %s: %v: %s", strings.Join(args, " "), b.Endpoint(), err,
			strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// PowerOn reports whether the BMC says the host is powered on (ipmitool power
// status); it fails the test if the BMC does not answer.
func (b *BMC) PowerOn(t T) bool {
	t.Helper()
	out, err := b.Ipmitool("power", "status")
	if err != nil {
		t.Fatalf("systemtest: %v", err)
	}
	switch {
	case strings.Contains(out, "Chassis Power is on"):
		return true
	case strings.Contains(out, "Chassis Power is off"):
		return false
	}
	t.Fatalf("systemtest: BMC %s: unexpected power status %q", b.Endpoint(), out)
	return false
}

// SetPower powers the host on or off at the BMC (ipmitool power on|off), behind
// keel's back.
func (b *BMC) SetPower(t T, on bool) {
	t.Helper()
	arg := "off"
	if on {
		arg = "on"
	}
	if _, err := b.Ipmitool("power", arg); err != nil {
		t.Fatalf("systemtest: %v", err)
	}
}

// WaitPower waits until the BMC reports the host on (or off), at most timeout,
// and returns how long that took.
func (b *BMC) WaitPower(t T, on bool, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	Eventually(t, timeout, fmt.Sprintf("BMC %s reports power on=%v", b.Endpoint(), on), func() bool {
		return b.PowerOn(t) == on
	})
	return time.Since(start)
}

// LogTail is the end of ipmi_sim's output.
func (b *BMC) LogTail() string {
	out, _ := os.ReadFile(b.logPath)
	return string(tail(out, 3000))
}

// Stop kills ipmi_sim (and any chassis program it is running), reaps it and
// removes its directory. Stopping twice is harmless.
func (b *BMC) Stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
		}
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
