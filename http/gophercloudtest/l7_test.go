package gophercloudtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/l7policies"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
)

// faultString is the faultstring of an Octavia error gophercloud returned.
func faultString(t *testing.T, err error) string {
	t.Helper()
	var e gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &e) {
		t.Fatalf("not an HTTP error: %v", err)
	}
	var f struct {
		FaultString string `json:"faultstring"`
	}
	if json.Unmarshal(e.Body, &f) != nil {
		t.Fatalf("error body: %s", e.Body)
	}
	return f.FaultString
}

func TestL7ThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)
	lb := createLB(t, c, "gc-l7")
	l, err := listeners.Create(ctx(t), c, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolHTTP, ProtocolPort: 80, Name: "web"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)

	// A policy with its rules in one call.
	p, err := l7policies.Create(ctx(t), c, l7policies.CreateOpts{
		ListenerID: l.ID, Name: "api", Action: l7policies.ActionRedirectToURL, RedirectURL: "https://api.example.com",
		RedirectHttpCode: 301, Tags: []string{"gc"},
		Rules: []l7policies.CreateRuleOpts{{RuleType: l7policies.TypePath, CompareType: l7policies.CompareTypeStartWith, Value: "/api"}},
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != "REDIRECT_TO_URL" || p.RedirectURL != "https://api.example.com" || p.RedirectHttpCode != 301 || p.Position != 1 ||
		p.ProvisioningStatus != "PENDING_CREATE" || len(p.Rules) != 1 || p.ListenerID != l.ID || !slices.Equal(p.Tags, []string{"gc"}) {
		t.Fatalf("created policy: %+v", p)
	}
	waitLBActive(t, c, lb.ID)
	reject, err := l7policies.Create(ctx(t), c, l7policies.CreateOpts{ListenerID: l.ID, Name: "block", Action: l7policies.ActionReject, Position: 1}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)

	got, err := l7policies.Get(ctx(t), c, p.ID).Extract()
	if err != nil || got.Position != 2 || got.ProvisioningStatus != "ACTIVE" || got.OperatingStatus != "ONLINE" {
		t.Fatalf("get after an insert before it: %+v %v", got, err)
	}
	pages, err := l7policies.List(c, l7policies.ListOpts{ListenerID: l.ID, Action: string(l7policies.ActionReject)}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := l7policies.ExtractL7Policies(pages); len(list) != 1 || list[0].ID != reject.ID {
		t.Fatalf("list REJECT policies: %+v", list)
	}

	name, prefix := "api-v2", "https://v2.example.com"
	up, err := l7policies.Update(ctx(t), c, p.ID, l7policies.UpdateOpts{Name: &name, Action: l7policies.ActionRedirectPrefix, RedirectPrefix: &prefix}).Extract()
	if err != nil || up.Name != name || up.Action != "REDIRECT_PREFIX" || up.RedirectPrefix != prefix || up.RedirectURL != "" || up.RedirectHttpCode != 302 {
		t.Fatalf("update: %+v %v", up, err)
	}
	waitLBActive(t, c, lb.ID)

	// Rules.
	rule, err := l7policies.CreateRule(ctx(t), c, p.ID, l7policies.CreateRuleOpts{RuleType: l7policies.TypeHeader,
		CompareType: l7policies.CompareTypeEqual, Key: "X-Version", Value: "2", Invert: true}).Extract()
	if err != nil || rule.Key != "X-Version" || !rule.Invert || rule.ProvisioningStatus != "PENDING_CREATE" {
		t.Fatalf("create rule: %+v %v", rule, err)
	}
	waitLBActive(t, c, lb.ID)
	pages, err = l7policies.ListRules(c, p.ID, l7policies.ListRulesOpts{}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if rules, _ := l7policies.ExtractRules(pages); len(rules) != 2 || rules[1].ID != rule.ID || rules[0].RuleType != "PATH" {
		t.Fatalf("rules: %+v", rules)
	}
	value := "3"
	up2, err := l7policies.UpdateRule(ctx(t), c, p.ID, rule.ID, l7policies.UpdateRuleOpts{Value: value}).Extract()
	if err != nil || up2.Value != "3" || up2.ProvisioningStatus != "PENDING_UPDATE" {
		t.Fatalf("update rule: %+v %v", up2, err)
	}
	waitLBActive(t, c, lb.ID)
	if r, err := l7policies.GetRule(ctx(t), c, p.ID, rule.ID).Extract(); err != nil || r.Value != "3" || r.ProvisioningStatus != "ACTIVE" {
		t.Fatalf("get rule: %+v %v", r, err)
	}

	// Refusals come back with Octavia's status and text.
	_, err = l7policies.CreateRule(ctx(t), c, p.ID, l7policies.CreateRuleOpts{RuleType: l7policies.TypeCookie,
		CompareType: l7policies.CompareTypeEqual, Value: "x"}).Extract()
	if !isStatus(err, http.StatusBadRequest) || faultString(t, err) != "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key" {
		t.Fatalf("rule without a key: %v", err)
	}
	_, err = l7policies.CreateRule(ctx(t), c, p.ID, l7policies.CreateRuleOpts{RuleType: l7policies.TypePath,
		CompareType: l7policies.CompareTypeRegex, Value: "/a("}).Extract()
	if !isStatus(err, http.StatusBadRequest) || faultString(t, err) != "Error parsing L7Rule: Unable to parse regular expression: missing ), unterminated subpattern at position 2" {
		t.Fatalf("bad regex: %v", err)
	}
	missing := "7fb2b5a0-3c2e-4c44-8c3a-37e4d4a9e6b1"
	if _, err := l7policies.GetRule(ctx(t), c, missing, rule.ID).Extract(); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("rule of a missing policy: %v", err)
	}
	if _, err := l7policies.Get(ctx(t), c, missing).Extract(); !isStatus(err, http.StatusNotFound) || faultString(t, err) != "L7 Policy "+missing+" not found." {
		t.Fatalf("missing policy: %v", err)
	}
	tcp, err := listeners.Create(ctx(t), c, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolTCP, ProtocolPort: 22}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)
	_, err = l7policies.Create(ctx(t), c, l7policies.CreateOpts{ListenerID: tcp.ID, Action: l7policies.ActionReject}).Extract()
	if !isStatus(err, http.StatusNotImplemented) {
		t.Fatalf("a policy on a TCP listener: %v", err)
	}
	other := client(t, n, map[string]string{"X-Project-Id": "someone-else", "X-Roles": "member"})
	if _, err := l7policies.Get(ctx(t), other, p.ID).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("another project: %v", err)
	}

	// The status tree and statistics of the load balancer.
	tree, err := loadbalancers.GetStatuses(ctx(t), c, lb.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if tree.Loadbalancer.ID != lb.ID || tree.Loadbalancer.ProvisioningStatus != "ACTIVE" || tree.Loadbalancer.OperatingStatus != "OFFLINE" ||
		len(tree.Loadbalancer.Listeners) != 2 || tree.Loadbalancer.Listeners[0].ID != l.ID || tree.Loadbalancer.Listeners[0].Name != "web" ||
		tree.Loadbalancer.Listeners[1].ID != tcp.ID || tree.Loadbalancer.Listeners[0].ProvisioningStatus != "ACTIVE" {
		t.Fatalf("status tree: %+v", tree.Loadbalancer)
	}
	stats, err := loadbalancers.GetStats(ctx(t), c, lb.ID).Extract()
	if err != nil || *stats != (loadbalancers.Stats{}) {
		t.Fatalf("stats: %+v %v", stats, err)
	}

	// Deletes.
	if err := l7policies.DeleteRule(ctx(t), c, p.ID, rule.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)
	if err := l7policies.Delete(ctx(t), c, reject.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)
	if got, err := l7policies.Get(ctx(t), c, p.ID).Extract(); err != nil || got.Position != 1 || len(got.Rules) != 1 {
		t.Fatalf("after deletes: %+v %v", got, err)
	}
	if err := l7policies.Delete(ctx(t), c, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)
	if _, err := l7policies.Get(ctx(t), c, p.ID).Extract(); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("deleted policy: %v", err)
	}
}
