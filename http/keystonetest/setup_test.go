package keystonetest

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

func TestMain(m *testing.M) { os.Exit(systemtest.Main(m)) }

const password = "keel-test-password"

// The projects: every test object belongs to projectA; projectB's users are
// "another project".
const (
	projectA = "lb-a"
	projectB = "lb-b"
)

// personas are the users made in each project, with the Keystone roles they
// hold there. The global observer's role is created with capitals: Keystone
// keeps the name as given, and keel must compare role names as Keystone does.
var personas = []struct {
	name  string
	roles []string
}{
	{"admin", []string{"admin"}},
	{"member", []string{"member"}},
	{"reader", []string{"reader"}},
	{"lb-member", []string{"load-balancer_member", "member"}},
	{"observer", []string{"load-balancer_observer", "reader"}},
	{"global-observer", []string{"Load-Balancer_Global_Observer"}},
	{"quota-admin", []string{"load-balancer_quota_admin"}},
	{"lb-admin", []string{"load-balancer_admin"}},
}

// world is the shared Keystone with its projects, users and the service user
// keeld validates tokens with.
type world struct {
	ks                   *systemtest.Keystone
	admin                string // a system-scoped admin token
	projectAID, projectB string
	// systemReader is a user with reader on the system.
	systemReader string
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

// keystone returns the shared Keystone, set up once for the package.
func keystone(t *testing.T) *world {
	t.Helper()
	ks := systemtest.SharedKeystone(t)
	worldOnce.Do(func() {
		start := time.Now()
		theWorld, worldErr = setUp(ks)
		if worldErr == nil {
			t.Logf("projects, roles and %d users made in %v", 2*len(personas)+2, time.Since(start).Round(time.Millisecond))
		}
	})
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return theWorld
}

func setUp(ks *systemtest.Keystone) (*world, error) {
	w := &world{ks: ks}
	var err error
	if w.admin, err = ks.AdminToken(); err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, p := range []string{projectA, projectB, "service"} {
		if ids[p], err = ks.CreateProject(w.admin, p); err != nil {
			return nil, err
		}
	}
	w.projectAID, w.projectB = ids[projectA], ids[projectB]
	roles := map[string]string{}
	role := func(name string) (string, error) {
		if id, ok := roles[name]; ok {
			return id, nil
		}
		id, err := ks.RoleID(w.admin, name)
		roles[name] = id
		return id, err
	}
	for _, p := range []string{projectA, projectB} {
		for _, who := range personas {
			uid, err := ks.CreateUser(w.admin, userName(who.name, p), password)
			if err != nil {
				return nil, err
			}
			for _, r := range who.roles {
				rid, err := role(r)
				if err != nil {
					return nil, err
				}
				if err := ks.Grant(w.admin, ids[p], uid, rid); err != nil {
					return nil, err
				}
			}
		}
	}
	// keeld's service user: Keystone's "service" role lets it validate tokens.
	uid, err := ks.CreateUser(w.admin, "keel", password)
	if err != nil {
		return nil, err
	}
	rid, err := role("service")
	if err != nil {
		return nil, err
	}
	if err := ks.Grant(w.admin, ids["service"], uid, rid); err != nil {
		return nil, err
	}
	// A system reader.
	w.systemReader = "system-reader"
	if uid, err = ks.CreateUser(w.admin, w.systemReader, password); err != nil {
		return nil, err
	}
	if rid, err = role("reader"); err != nil {
		return nil, err
	}
	if r, err := ks.Do("PUT", "/system/users/"+uid+"/roles/"+rid, w.admin, nil); err != nil || r.Status != 204 {
		return nil, fmt.Errorf("system reader: %v %v", r, err)
	}
	return w, nil
}

func userName(persona, project string) string { return persona + "-" + project }

// token is a project-scoped token of persona in project.
func (w *world) token(t *testing.T, persona, project string) string {
	t.Helper()
	tok, err := w.ks.Token(userName(persona, project), password, systemtest.Scope{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// keeld starts a node validating tokens with this Keystone.
func (w *world) keeld(t *testing.T, extra ...string) *systemtest.Node {
	t.Helper()
	n := systemtest.NewNode(t, "ks")
	n.ExtraArgs = append(w.keystoneArgs(), extra...)
	n.StartHealthy(60 * time.Second)
	return n
}

func (w *world) keystoneArgs() []string {
	return []string{"-auth-strategy", "keystone", "-keystone-url", w.ks.URL + "/v3", "-keystone-user", "keel",
		"-keystone-password", password, "-keystone-project", "service"}
}

// waitActive waits (bounded) until load balancer id is ACTIVE, as token sees it.
func waitActive(t *testing.T, n *systemtest.Node, id, token string) {
	t.Helper()
	systemtest.Eventually(t, 20*time.Second, id+" ACTIVE", func() bool {
		r, err := n.Do("GET", "/v2/lbaas/loadbalancers/"+id, nil, "X-Auth-Token: "+token)
		return err == nil && r.Status == 200 && strings.Contains(string(r.Body), `"provisioning_status":"ACTIVE"`)
	})
}
