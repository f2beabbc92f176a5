package http

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"keel/actors/baremetal"
	"keel/store/storepb"
)

// An instance as Mogan renders it: every detail field in Mogan's order, then
// links; null for unset description, power_state, availability_zone,
// launched_at and an unchanged updated_at; ISO 8601 with +00:00
// (microseconds only when not zero); network_info keyed by port id when
// ports are known, else by the id of each network asked for; links
// even when fields leaves everything else out.
func TestMoganRenderInstance(t *testing.T) {
	created := time.Date(2017, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro()
	x := &storepb.Instance{Uuid: "u1", Name: "n", ProjectId: "p", UserId: "us", Status: "building",
		InstanceTypeUuid: "t1", ImageUuid: "i1", Extra: map[string]string{"b": "2", "a": "1"},
		CreatedAtUs: created, UpdatedAtUs: created}
	got := string(appendInstance(nil, "http://h:6688", x, detailFields))
	want := `{"uuid":"u1","name":"n","description":null,"project_id":"p","user_id":"us","status":"building",` +
		`"power_state":null,"instance_type_uuid":"t1","image_uuid":"i1","availability_zone":null,"network_info":{},` +
		`"launched_at":null,"extra":{"a":"1","b":"2"},"created_at":"2017-01-02T03:04:05+00:00","updated_at":null,` +
		`"links":[{"href":"http://h:6688/v1/instances/u1","rel":"self"},{"href":"http://h:6688/instances/u1","rel":"bookmark"}]}`
	if got != want {
		t.Fatalf("detail:\n got %s\nwant %s", got, want)
	}

	// The networks asked for, keyed by network id (a repeated one once): no
	// port, MAC or address is known.
	x.Networks = []*storepb.InstanceNetwork{{NetId: "net1"}, {NetId: "net2", PortType: "normal"}, {NetId: "net1"}}
	if got := string(appendInstance(nil, "http://h", x, []string{"network_info"})); got !=
		`{"network_info":{"net1":{"network":"net1","mac_address":null,"fixed_ips":[]},"net2":{"network":"net2","mac_address":null,"fixed_ips":[]}}}` {
		t.Fatalf("network_info of the networks asked for: %s", got)
	}

	x.Status, x.PowerState, x.AvailabilityZone = "active", "power on", "az"
	x.LaunchedAtUs, x.UpdatedAtUs = created+1500000, created+1500000
	x.NetworkInfo = []*storepb.NetworkPort{{PortId: "port1", NetworkId: "net1",
		FixedIps: []*storepb.FixedIp{{IpAddress: "10.0.0.2", SubnetId: "s1"}}}}
	got = string(appendInstance(nil, "http://h", x, []string{"power_state", "availability_zone", "network_info", "launched_at", "updated_at", "links"}))
	want = `{"power_state":"power on","availability_zone":"az",` +
		`"network_info":{"port1":{"network":"net1","mac_address":null,"fixed_ips":[{"ip_address":"10.0.0.2","subnet_id":"s1"}]}},` +
		`"launched_at":"2017-01-02T03:04:06.500000+00:00","updated_at":"2017-01-02T03:04:06.500000+00:00",` +
		`"links":[{"href":"http://h/v1/instances/u1","rel":"self"},{"href":"http://h/instances/u1","rel":"bookmark"}]}`
	if got != want {
		t.Fatalf("fields:\n got %s\nwant %s", got, want)
	}

	if got := string(appendInstance(nil, "http://h", x, baremetal.ParseFields(""))); got !=
		`{"links":[{"href":"http://h/v1/instances/u1","rel":"self"},{"href":"http://h/instances/u1","rel":"bookmark"}]}` {
		t.Fatalf("fields=: %s", got)
	}
	x.Status, x.StatusReason = "error", "No valid host was found."
	if got := string(appendInstance(nil, "http://h", x, detailFields)); !strings.HasSuffix(got, `,"fault":{"message":"No valid host was found."}}`) {
		t.Fatalf("error detail: %s", got)
	}
	if got := string(appendInstance(nil, "http://h", x, []string{"status", "links"})); strings.Contains(got, "fault") {
		t.Fatalf("error with fields: %s", got)
	}
	x.Status = "active"
	if got := string(appendInstance(nil, "http://h", x, listFields)); got !=
		`{"uuid":"u1","name":"n","description":null,"status":"active","links":[{"href":"http://h/v1/instances/u1","rel":"self"},{"href":"http://h/instances/u1","rel":"bookmark"}]}` {
		t.Fatalf("list: %s", got)
	}
}

// Mogan's rules compile into keel's table under mogan:*, and its
// administrator is role admin or administrator, not Octavia's or anyone's.
func TestMoganPolicy(t *testing.T) {
	p := NewPolicy(PolicyOptions{})
	for _, c := range []struct {
		roles   []string
		project string
		rule    string
		target  string
		want    bool
	}{
		{[]string{"admin"}, "p1", ruleMoganAdmin, "p1", true},
		{[]string{"administrator"}, "p1", ruleMoganAdmin, "p1", true},
		{[]string{"load-balancer_admin"}, "p1", ruleMoganAdmin, "p1", false},
		{[]string{"member"}, "p1", baremetal.RuleInstanceGet, "p1", true},
		{[]string{"member"}, "p1", baremetal.RuleInstanceGet, "p2", false},
		{[]string{"admin"}, "p1", baremetal.RuleInstanceDelete, "p2", true},
		{[]string{"member"}, "p1", baremetal.RuleInstanceCreate, "p1", true},
		{[]string{"member"}, "p1", ruleMoganTypeCreate, "p1", false},
		{[]string{"admin"}, "p1", ruleMoganTypeCreate, "p1", true},
		{[]string{"member"}, "p1", ruleMoganTypeGet, "", true},
	} {
		roles := map[string]bool{}
		for _, r := range c.roles {
			roles[r] = true
		}
		creds := credentials{project: c.project, roles: roles}
		if got := p.Allowed(c.rule, &creds, c.target); got != c.want {
			t.Errorf("%v %s on %s: %v, want %v", c.roles, c.rule, c.target, got, c.want)
		}
	}
}

// A token Keystone refuses gets keystonemiddleware's 401 from the Mogan
// listener on every path, the version documents too.
func TestMoganUnauthorized(t *testing.T) {
	f := &fakeKeystone{valid: map[string]string{}, serviceOK: true}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	auth, err := NewAuthenticator(AuthConfig{Strategy: AuthKeystone, Keystone: KeystoneConfig{URL: srv.URL,
		WWWAuthenticateURI: "http://keystone.example/v3", User: "keel", Password: "pw", Project: "service"}})
	if err != nil {
		t.Fatal(err)
	}
	h := NewMoganServer(Config{Auth: auth}).Handler()
	for _, c := range []struct{ path, token string }{{"/", ""}, {"/v1", ""}, {"/v1/instances", "bogus"}} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("http://127.0.0.1:6688" + c.path)
		if c.token != "" {
			ctx.Request.Header.Set("X-Auth-Token", c.token)
		}
		h(&ctx)
		if ctx.Response.StatusCode() != 401 || string(ctx.Response.Header.Peek("WWW-Authenticate")) != `Keystone uri="http://keystone.example/v3"` ||
			len(ctx.Response.Header.Peek(requestIDHeader)) == 0 {
			t.Fatalf("%s: %d %s %s", c.path, ctx.Response.StatusCode(), ctx.Response.Body(), ctx.Response.Header.String())
		}
	}
}
