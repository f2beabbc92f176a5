package http_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// blazarCLI runs Debian's openstack CLI (python3-blazarclient's `openstack
// reservation`) against node n's Blazar listener the way the README says: no
// Keystone, a token keel ignores, the listener's /v1 as endpoint. The harness
// runs keeld with -noauth-admin, so the CLI is Blazar's administrator (the
// os-hosts routes need one).
func blazarCLI(t *testing.T, n *systemtest.Node, args ...string) (string, error) {
	t.Helper()
	const openstack = "/usr/bin/openstack"
	if err := exec.Command("/usr/bin/python3", "-c", "import blazarclient").Run(); err != nil {
		t.Fatal("python3-blazarclient is not installed (make deps installs it)")
	}
	full := append([]string{"--os-auth-type", "admin_token", "--os-token", "unused", "--os-endpoint", n.BlazarURL("/v1")}, args...)
	out, err := exec.Command(openstack, full...).CombinedOutput()
	return string(out), err
}

// cliJSON is the JSON object of a create's -f json output (the CLI prints
// "Created a new …:" before it).
func cliJSON(out string) string {
	if i := strings.Index(out, "{"); i >= 0 {
		return out[i:]
	}
	return out
}

// TestBlazarOpenstackCLI drives keel's Blazar API through `openstack
// reservation`: hosts created, listed, shown, set and deleted; a lease created,
// listed, shown, updated (prolonged, renamed) and deleted; errors as the CLI
// shows Blazar's.
func TestBlazarOpenstackCLI(t *testing.T) {
	n := startNode(t)
	cli := func(args ...string) string {
		t.Helper()
		out, err := blazarCLI(t, n, args...)
		if err != nil {
			t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var host map[string]any
	out := cli("reservation", "host", "create", "--extra", "gpu=a100", "--extra", "bmc_password=cli-s3cret", "cli-host", "-f", "json")
	if err := json.Unmarshal([]byte(cliJSON(out)), &host); err != nil || host["hypervisor_hostname"] != "cli-host" || host["gpu"] != "a100" ||
		strings.Contains(out, "s3cret") {
		t.Fatalf("host create: %v\n%s", err, out)
	}
	hostID, _ := host["id"].(string)
	if out := cli("reservation", "host", "list", "-f", "value", "-c", "id", "-c", "hypervisor_hostname"); strings.TrimSpace(out) != hostID+" cli-host" {
		t.Fatalf("host list: %s", out)
	}
	cli("reservation", "host", "set", "--extra", "gpu=h100", "cli-host")
	if out := cli("reservation", "host", "show", "cli-host", "-f", "value", "-c", "gpu"); strings.TrimSpace(out) != "h100" {
		t.Fatalf("host show after set: %s", out)
	}
	if out := cli("reservation", "host", "property", "list", "-f", "value"); strings.TrimSpace(out) != "gpu" {
		t.Fatalf("property list: %s", out)
	}

	endAt := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Minute)
	end := endAt.Format("2006-01-02 15:04")
	var lease struct {
		ID, Name, Status string
		EndDate          string `json:"end_date"`
	}
	out = cli("reservation", "lease", "create", "--reservation", "min=1,max=1,resource_type=physical:host,hypervisor_properties=[\"==\",\"$hypervisor_hostname\",\"cli-host\"]",
		"--start-date", "now", "--end-date", end, "cli-lease", "-f", "json")
	if err := json.Unmarshal([]byte(cliJSON(out)), &lease); err != nil || lease.ID == "" || lease.Name != "cli-lease" {
		t.Fatalf("lease create: %v\n%s", err, out)
	}
	systemtest.Eventually(t, 10*time.Second, "lease ACTIVE via the CLI", func() bool {
		out, err := blazarCLI(t, n, "reservation", "lease", "show", "cli-lease", "-f", "value", "-c", "status")
		return err == nil && strings.TrimSpace(out) == "ACTIVE"
	})
	if out := cli("reservation", "lease", "list", "-f", "value", "-c", "id", "-c", "name"); strings.TrimSpace(out) != lease.ID+" cli-lease" {
		t.Fatalf("lease list: %s", out)
	}
	cli("reservation", "lease", "set", "--prolong-for", "1h", "--name", "cli-lease-2", "cli-lease")
	// From the end the lease was created with (a minute may have passed since).
	prolonged := endAt.Add(time.Hour).Format("2006-01-02T15:04")
	if out := cli("reservation", "lease", "show", "cli-lease-2", "-f", "value", "-c", "end_date"); !strings.HasPrefix(strings.TrimSpace(out), prolonged) {
		t.Fatalf("lease show after set: %s, want %s…", out, prolonged)
	}
	// The host is reserved: the CLI shows Blazar's refusal.
	if out, err := blazarCLI(t, n, "reservation", "host", "delete", "cli-host"); err == nil ||
		!strings.Contains(out, "Can't delete host "+hostID+". The host is reserved.") {
		t.Fatalf("host delete of a reserved host: %v\n%s", err, out)
	}
	cli("reservation", "lease", "delete", "cli-lease-2")
	cli("reservation", "host", "delete", "cli-host")
	if out := cli("reservation", "lease", "list", "-f", "value") + cli("reservation", "host", "list", "-f", "value"); strings.TrimSpace(out) != "" {
		t.Fatalf("left after the deletes: %s", out)
	}
}
