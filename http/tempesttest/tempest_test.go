package tempesttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

func TestMain(m *testing.M) { os.Exit(systemtest.Main(m)) }

// password is every test user's, and keeld's service user's.
const password = "keel-tempest-password"

// octaviaRoles are the roles Octavia's deployment creates (devstack's
// octavia plugin does): tempest's dynamic credentials are given them by name.
var octaviaRoles = []string{"load-balancer_admin", "load-balancer_member", "load-balancer_observer",
	"load-balancer_global_observer", "load-balancer_quota_admin", "member", "reader", "service"}

// suite is a Keystone with keeld in its catalog and a tempest workspace
// configured against both.
type suite struct {
	node      *systemtest.Node
	workspace string
	home      string
}

// tempestInstalled says what is missing, if anything.
func tempestInstalled() error {
	if _, err := os.Stat("/usr/bin/tempest"); err != nil {
		return fmt.Errorf("tempest is not installed (make deps installs Debian's tempest and octavia-tempest-plugin)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import octavia_tempest_plugin").Run(); err != nil {
		return fmt.Errorf("octavia-tempest-plugin is not installed (make deps installs it): %v", err)
	}
	return nil
}

// setUp starts keeld against the shared Keystone, registers it as the
// load-balancer service and writes a tempest workspace.
func setUp(t *testing.T) *suite {
	t.Helper()
	if err := tempestInstalled(); err != nil {
		t.Fatal(err)
	}
	ks := systemtest.SharedKeystone(t)
	admin, err := ks.AdminToken()
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, r := range octaviaRoles {
		if roles[r], err = ks.RoleID(admin, r); err != nil {
			t.Fatal(err)
		}
	}
	service, err := ks.CreateProject(admin, "service")
	if err != nil {
		t.Fatal(err)
	}
	keel, err := ks.CreateUser(admin, "keel", password)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Grant(admin, service, keel, roles["service"]); err != nil {
		t.Fatal(err)
	}

	n := systemtest.NewNode(t, "tempest")
	n.ExtraArgs = []string{"-auth-strategy", "keystone", "-keystone-url", ks.URL + "/v3", "-keystone-user", "keel",
		"-keystone-password", password, "-keystone-project", "service"}
	n.StartHealthy(60 * time.Second)
	if err := ks.CreateEndpoints(admin, "load-balancer", "octavia", "http://"+n.HTTPAddr); err != nil {
		t.Fatal(err)
	}

	s := &suite{node: n, home: t.TempDir()}
	s.workspace = filepath.Join(s.home, "workspace")
	if out, err := s.command(context.Background(), "/usr/bin/tempest", "init", s.workspace).CombinedOutput(); err != nil {
		t.Fatalf("tempest init: %v\n%s", err, out)
	}
	conf := strings.NewReplacer("{identity}", ks.URL+"/v3", "{admin_password}", ks.AdminPassword,
		"{log_dir}", filepath.Join(s.workspace, "logs")).Replace(tempestConf)
	if err := os.WriteFile(filepath.Join(s.workspace, "etc", "tempest.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// tempestConf is tempest.conf as Octavia's noop API job has it: Keystone v3
// only, dynamic credentials (a project and user per persona, made by tempest
// through Keystone's API and removed afterwards), no Neutron, Nova, Glance or
// Barbican, test_with_noop (networks and subnets are made-up ids), three compute
// zones for the availability zone tests, Octavia's
// default policy (not enforce_new_defaults, not enforce_scope: keeld's defaults).
const tempestConf = `[DEFAULT]
log_dir = {log_dir}
log_file = tempest.log
use_stderr = false

[auth]
admin_username = admin
admin_password = {admin_password}
admin_project_name = admin
admin_domain_name = Default
default_credentials_domain_name = Default
use_dynamic_credentials = true
create_isolated_networks = false

[identity]
uri_v3 = {identity}
auth_version = v3
region = RegionOne
admin_role = admin
disable_ssl_certificate_validation = true

[identity-feature-enabled]
api_v2 = false
api_v3 = true

[service_available]
load_balancer = true
neutron = false
nova = false
glance = false
cinder = false
swift = false
barbican = false

[network]
project_networks_reachable = true

[validation]
run_validation = false

[load_balancer]
test_with_noop = true
build_interval = 0.2
build_timeout = 60
check_interval = 0.2
check_timeout = 30
lb_build_interval = 0.2
lb_build_timeout = 60
enforce_new_defaults = false
# Compute zones the availability zone profiles name (keel's drivers accept any
# zone; unset, the plugin sends compute_zone null, which Octavia's schema refuses).
availability_zone = keel-az1
availability_zone2 = keel-az2
availability_zone3 = keel-az3

[enforce_scope]
octavia = false
`

func (s *suite) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	// tempest keeps a registry of workspaces in $HOME/.tempest: a scratch HOME
	// keeps the machine's untouched.
	cmd.Env = append(os.Environ(), "HOME="+s.home)
	cmd.Dir = s.workspace
	if _, err := os.Stat(s.workspace); err != nil {
		cmd.Dir = s.home // tempest init makes the workspace
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// outcome is one test's result.
type outcome struct {
	Name    string
	Status  string // passed, failed, skipped
	Message string // the skip's reason, or the failure's first lines
	Seconds float64
}

// results is a run of the suite.
type results struct {
	Regex    string
	Duration time.Duration
	Tests    []outcome
}

func (r *results) count(status string) int {
	n := 0
	for _, o := range r.Tests {
		if o.Status == status {
			n++
		}
	}
	return n
}

// run runs the tests regex selects, concurrency at a time, within timeout, and
// reads their outcomes from the subunit stream tempest's stestr keeps.
func (s *suite) run(t *testing.T, regex string, concurrency int, timeout time.Duration) *results {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	cmd := s.command(ctx, "/usr/bin/tempest", "run", "--regex", regex, "--concurrency", fmt.Sprint(concurrency))
	logPath := filepath.Join(s.workspace, "tempest-run.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	runErr := cmd.Run()
	logf.Close()
	res := &results{Regex: regex, Duration: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("tempest run did not end within %v", timeout)
	}

	// The subunit stream of the last run, read by subunit's own parser.
	last := s.command(context.Background(), "/usr/bin/stestr", "last", "--subunit")
	stream, err := last.Output()
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("tempest run: %v; stestr last: %v\n%s", runErr, err, tail(log, 6000))
	}
	conv := s.command(context.Background(), "/usr/bin/python3", "-c", subunitToJSON)
	conv.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	conv.Stderr = &stderr
	out, err := conv.Output()
	if err != nil {
		t.Fatalf("reading the subunit stream: %v\n%s", err, stderr.Bytes())
	}
	var tests []struct {
		ID      string  `json:"id"`
		Status  string  `json:"status"`
		Message string  `json:"message"`
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(out, &tests); err != nil {
		t.Fatalf("reading the subunit stream: %v", err)
	}
	for _, c := range tests {
		o := outcome{Name: c.ID, Message: c.Message, Seconds: c.Seconds}
		switch c.Status {
		case "success", "xfail":
			o.Status = "passed"
		case "skip":
			o.Status = "skipped"
		default: // fail, uxsuccess, and a test that never ended (inprogress)
			o.Status = "failed"
		}
		res.Tests = append(res.Tests, o)
	}
	sort.Slice(res.Tests, func(i, j int) bool { return res.Tests[i].Name < res.Tests[j].Name })
	if len(res.Tests) == 0 {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("tempest ran no test (%v):\n%s", runErr, tail(log, 6000))
	}
	return res
}

// subunitToJSON turns a subunit v2 stream (stdin) into a JSON list of tests with
// their status, duration and the skip reason or traceback.
const subunitToJSON = `
import json, sys, subunit, testtools
tests = []
def on_test(t):
    msg = ""
    for key in ("reason", "traceback"):
        if key in t["details"]:
            msg = t["details"][key].as_text()
            break
    start, stop = t["timestamps"]
    tests.append({"id": t["id"], "status": t["status"], "message": msg,
                  "seconds": (stop - start).total_seconds() if start and stop else 0})
stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
result = testtools.StreamToDict(on_test)
result.startTestRun()
stream.run(result)
result.stopTestRun()
json.dump(tests, sys.stdout)
`

// failures returns the failed tests with their messages, for t.Errorf.
func (r *results) failures() string {
	var b strings.Builder
	for _, o := range r.Tests {
		if o.Status == "failed" {
			fmt.Fprintf(&b, "--- %s\n%s\n", o.Name, tail([]byte(o.Message), 3000))
		}
	}
	return b.String()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// TestTempestSlice runs a slice of octavia-tempest-plugin's API tests (make
// tempest runs all of them): load balancers, listeners and the amphora admin API,
// through Keystone tokens and Octavia's RBAC, with no failure allowed.
func TestTempestSlice(t *testing.T) {
	s := setUp(t)
	res := s.run(t, `^octavia_tempest_plugin\.tests\.api\.v2\.(test_load_balancer|test_amphora)\.`, 2, 10*time.Minute)
	t.Logf("%d passed, %d failed, %d skipped in %v", res.count("passed"), res.count("failed"), res.count("skipped"),
		res.Duration.Round(time.Second))
	if res.count("failed") > 0 {
		t.Errorf("octavia-tempest-plugin failures:\n%s", res.failures())
	}
	if res.count("passed") < 10 {
		t.Errorf("only %d tests passed", res.count("passed"))
	}
}
