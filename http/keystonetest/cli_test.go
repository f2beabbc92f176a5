package keystonetest

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// TestKeystoneOpenstackCLI drives keeld with the openstack CLI as an OpenStack
// user does: password authentication against Keystone, and keeld found in the
// catalog as the load-balancer service (and as the network service the CLI
// resolves the VIP subnet with).
func TestKeystoneOpenstackCLI(t *testing.T) {
	w := keystone(t)
	path, err := exec.LookPath("openstack")
	if err != nil {
		t.Fatal("the openstack CLI is not installed (make deps installs python3-openstackclient and python3-octaviaclient)")
	}
	n := systemtest.NewNode(t, "ks-cli")
	n.ExtraArgs = w.keystoneArgs()
	n.StartHealthy(60 * time.Second)
	for _, svc := range []struct{ typ, name string }{{"load-balancer", "octavia"}, {"network", "neutron"}} {
		if err := w.ks.CreateEndpoints(w.admin, svc.typ, svc.name, n.URL("")); err != nil {
			t.Fatal(err)
		}
	}
	cli := func(user string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(path, args...)
		env := []string{"OS_AUTH_URL=" + w.ks.URL + "/v3", "OS_IDENTITY_API_VERSION=3", "OS_USERNAME=" + userName(user, projectA),
			"OS_PASSWORD=" + password, "OS_PROJECT_NAME=" + projectA, "OS_USER_DOMAIN_NAME=Default",
			"OS_PROJECT_DOMAIN_NAME=Default", "OS_REGION_NAME=RegionOne", "OS_INTERFACE=public"}
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "OS_") {
				env = append(env, e)
			}
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(user string, args ...string) string {
		t.Helper()
		out, err := cli(user, args...)
		if err != nil {
			t.Fatalf("openstack %s (as %s): %v\n%s", strings.Join(args, " "), user, err, out)
		}
		return out
	}

	var lb struct {
		ID        string `json:"id"`
		ProjectID string `json:"project_id"`
	}
	out := must("lb-member", "loadbalancer", "create", "--name", "ks-lb", "--vip-subnet-id", systemtest.Subnet, "-f", "json")
	if err := json.Unmarshal([]byte(out), &lb); err != nil || lb.ID == "" || lb.ProjectID != w.projectAID {
		t.Fatalf("create: %v\n%s", err, out)
	}
	systemtest.Eventually(t, 30*time.Second, "ACTIVE through the CLI", func() bool {
		out, err := cli("lb-member", "loadbalancer", "show", "ks-lb", "-f", "value", "-c", "provisioning_status")
		return err == nil && strings.TrimSpace(out) == "ACTIVE"
	})
	if out := must("observer", "loadbalancer", "list", "-f", "value", "-c", "id"); !strings.Contains(out, lb.ID) {
		t.Fatalf("the project's observer lists: %s", out)
	}
	// An observer may look, not delete; a member of the project may.
	if out, err := cli("observer", "loadbalancer", "delete", "ks-lb"); err == nil || !strings.Contains(out, "Policy does not allow this request to be performed") {
		t.Fatalf("an observer deleted: %v\n%s", err, out)
	}
	must("lb-member", "loadbalancer", "delete", "ks-lb")
	systemtest.Eventually(t, 30*time.Second, "gone from the CLI's list", func() bool {
		out, err := cli("lb-member", "loadbalancer", "list", "-f", "value", "-c", "id")
		return err == nil && !strings.Contains(out, lb.ID)
	})
}
