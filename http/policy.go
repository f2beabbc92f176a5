package http

import (
	"fmt"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// keel's RBAC is Octavia's default policy (Zed, octavia/policies/*.py), one table
// of rules: each rule is an oslo.policy check string, evaluated as oslo.policy
// evaluates it. Every handler authorizes through authorize (one rule and the
// project of the object it acts on), so what a role may do is read here and
// nowhere else.
//
// The roles (Keystone role names, compared case-insensitively as Keystone and
// oslo.policy compare them):
//
//	load-balancer_observer         reads its project's objects
//	load-balancer_global_observer  reads every project's objects
//	load-balancer_member           reads and writes its project's objects
//	load-balancer_quota_admin      reads and writes every project's quotas
//	load-balancer_admin            everything (also catalog writes, amphorae, failover)
//	admin                          an administrator (see EnforceNewDefaults)
//	member, reader                 Keystone's default roles: alone they grant
//	                               nothing; with EnforceNewDefaults the
//	                               load-balancer_member / _observer also need them
//
// Two of oslo.policy's options change the outcome, as they do for Octavia:
//
//   - EnforceNewDefaults (oslo [oslo_policy] enforce_new_defaults, false in Zed):
//     false ORs each rule with its deprecated default, so a project's `admin` is an
//     administrator and load-balancer_member / _observer need no Keystone
//     member / reader role; true enforces the new defaults only (an administrator
//     is load-balancer_admin or a system-scoped admin).
//   - EnforceScope (enforce_scope, false in Zed): true refuses context_is_admin
//     to a token that is not system-scoped (oslo raises InvalidScope, which
//     Octavia's check_is_admin turns into "not an administrator"). Octavia's API
//     rules have no scope_types, so nothing else changes.

// PolicyOptions are oslo.policy's options for the table.
type PolicyOptions struct {
	EnforceScope       bool
	EnforceNewDefaults bool
}

// The rules handlers authorize. Octavia's names: os_load-balancer_api:<object>:<action>.
const (
	rbacLoadBalancer         = "os_load-balancer_api:loadbalancer:"
	rbacListener             = "os_load-balancer_api:listener:"
	rbacPool                 = "os_load-balancer_api:pool:"
	rbacMember               = "os_load-balancer_api:member:"
	rbacHealthMonitor        = "os_load-balancer_api:healthmonitor:"
	rbacL7Policy             = "os_load-balancer_api:l7policy:"
	rbacL7Rule               = "os_load-balancer_api:l7rule:"
	rbacQuota                = "os_load-balancer_api:quota:"
	rbacAmphora              = "os_load-balancer_api:amphora:"
	rbacProvider             = "os_load-balancer_api:provider:"
	rbacProviderFlavor       = "os_load-balancer_api:provider-flavor:"
	rbacProviderZone         = "os_load-balancer_api:provider-availability-zone:"
	rbacFlavor               = "os_load-balancer_api:flavor:"
	rbacFlavorProfile        = "os_load-balancer_api:flavor-profile:"
	rbacAvailabilityZone     = "os_load-balancer_api:availability-zone:"
	rbacAvailabilityZoneProf = "os_load-balancer_api:availability-zone-profile:"

	actPost         = "post"
	actPut          = "put"
	actPutConfig    = "put_config"
	actPutFailover  = "put_failover"
	actDelete       = "delete"
	actGetOne       = "get_one"
	actGetAll       = "get_all"
	actGetAllGlobal = "get_all-global"
	actGetDefaults  = "get_defaults"
	actGetStats     = "get_stats"
	actGetStatus    = "get_status"

	// ruleOperator guards keel's operator endpoints (/cluster, /debug/*): keel's
	// own rule, an administrator's.
	ruleOperator = "keel:operator"
	// ruleAdmin is Octavia's administrator: may act on every project's objects.
	ruleAdmin = "load-balancer:admin"
)

// policyRule is one row of the table: a rule name, its check string, the
// deprecated check string oslo ORs in while EnforceNewDefaults is off, and
// whether the rule is system-scoped (scope_types=[system]: only consulted for
// context_is_admin, see EnforceScope).
type policyRule struct {
	name, check, deprecated string
	system                  bool
}

// octaviaPolicy is the table: octavia/policies/base.py, then one block per API
// (octavia/policies/<object>.py), then keel's own rules.
var octaviaPolicy = []policyRule{
	// base.py: OpenStack-wide personas.
	{name: "system-admin", check: "role:admin and system_scope:all", system: true},
	{name: "system-reader", check: "role:reader and system_scope:all", system: true},
	{name: "project-member", check: "role:member and project_id:%(project_id)s"},
	{name: "project-reader", check: "role:reader and project_id:%(project_id)s"},
	// base.py: Octavia's advanced RBAC.
	{name: "context_is_admin", check: "role:load-balancer_admin or rule:system-admin",
		deprecated: "role:admin or role:load-balancer_admin", system: true},
	{name: "load-balancer:owner", check: "project_id:%(project_id)s"},
	{name: "load-balancer:observer_and_owner", check: "role:load-balancer_observer and rule:project-reader",
		deprecated: "role:load-balancer_observer and rule:load-balancer:owner"},
	{name: "load-balancer:global_observer", check: "role:load-balancer_global_observer or rule:system-reader", system: true},
	{name: "load-balancer:member_and_owner", check: "role:load-balancer_member and rule:project-member",
		deprecated: "role:load-balancer_member and rule:load-balancer:owner"},
	{name: "load-balancer:admin", check: "is_admin:True or role:load-balancer_admin or rule:system-admin", system: true},
	{name: "load-balancer:read", check: "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer or " +
		"rule:load-balancer:member_and_owner or rule:load-balancer:admin"},
	{name: "load-balancer:read-global", check: "rule:load-balancer:global_observer or rule:load-balancer:admin", system: true},
	{name: "load-balancer:write", check: "rule:load-balancer:member_and_owner or rule:load-balancer:admin"},
	{name: "load-balancer:read-quota", check: "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer or " +
		"rule:load-balancer:member_and_owner or role:load-balancer_quota_admin or rule:load-balancer:admin"},
	{name: "load-balancer:read-quota-global", check: "rule:load-balancer:global_observer or role:load-balancer_quota_admin or " +
		"rule:load-balancer:admin", system: true},
	{name: "load-balancer:write-quota", check: "role:load-balancer_quota_admin or rule:load-balancer:admin", system: true},

	// loadbalancer.py
	api(rbacLoadBalancer, actGetAll, "read"), api(rbacLoadBalancer, actGetAllGlobal, "read-global"),
	api(rbacLoadBalancer, actPost, "write"), api(rbacLoadBalancer, actGetOne, "read"),
	api(rbacLoadBalancer, actPut, "write"), api(rbacLoadBalancer, actDelete, "write"),
	api(rbacLoadBalancer, actGetStats, "read"), api(rbacLoadBalancer, actGetStatus, "read"),
	api(rbacLoadBalancer, actPutFailover, "admin"),
	// listener.py
	api(rbacListener, actGetAll, "read"), api(rbacListener, actGetAllGlobal, "read-global"),
	api(rbacListener, actPost, "write"), api(rbacListener, actGetOne, "read"),
	api(rbacListener, actPut, "write"), api(rbacListener, actDelete, "write"), api(rbacListener, actGetStats, "read"),
	// pool.py
	api(rbacPool, actGetAll, "read"), api(rbacPool, actGetAllGlobal, "read-global"),
	api(rbacPool, actPost, "write"), api(rbacPool, actGetOne, "read"),
	api(rbacPool, actPut, "write"), api(rbacPool, actDelete, "write"),
	// member.py (no global list: members are listed per pool)
	api(rbacMember, actGetAll, "read"), api(rbacMember, actPost, "write"), api(rbacMember, actGetOne, "read"),
	api(rbacMember, actPut, "write"), api(rbacMember, actDelete, "write"),
	// healthmonitor.py
	api(rbacHealthMonitor, actGetAll, "read"), api(rbacHealthMonitor, actGetAllGlobal, "read-global"),
	api(rbacHealthMonitor, actPost, "write"), api(rbacHealthMonitor, actGetOne, "read"),
	api(rbacHealthMonitor, actPut, "write"), api(rbacHealthMonitor, actDelete, "write"),
	// l7policy.py
	api(rbacL7Policy, actGetAll, "read"), api(rbacL7Policy, actGetAllGlobal, "read-global"),
	api(rbacL7Policy, actPost, "write"), api(rbacL7Policy, actGetOne, "read"),
	api(rbacL7Policy, actPut, "write"), api(rbacL7Policy, actDelete, "write"),
	// l7rule.py (listed per policy)
	api(rbacL7Rule, actGetAll, "read"), api(rbacL7Rule, actPost, "write"), api(rbacL7Rule, actGetOne, "read"),
	api(rbacL7Rule, actPut, "write"), api(rbacL7Rule, actDelete, "write"),
	// quota.py
	api(rbacQuota, actGetAll, "read-quota"), api(rbacQuota, actGetAllGlobal, "read-quota-global"),
	api(rbacQuota, actGetOne, "read-quota"), api(rbacQuota, actPut, "write-quota"),
	api(rbacQuota, actDelete, "write-quota"), api(rbacQuota, actGetDefaults, "read-quota"),
	// amphora.py
	api(rbacAmphora, actGetAll, "admin"), api(rbacAmphora, actGetOne, "admin"), api(rbacAmphora, actDelete, "admin"),
	api(rbacAmphora, actPutConfig, "admin"), api(rbacAmphora, actPutFailover, "admin"), api(rbacAmphora, actGetStats, "admin"),
	// provider.py, provider_flavor.py, provider_availability_zone.py
	api(rbacProvider, actGetAll, "read"), api(rbacProviderFlavor, actGetAll, "admin"), api(rbacProviderZone, actGetAll, "admin"),
	// flavor.py, flavor_profile.py
	api(rbacFlavor, actGetAll, "read"), api(rbacFlavor, actPost, "admin"), api(rbacFlavor, actPut, "admin"),
	api(rbacFlavor, actGetOne, "read"), api(rbacFlavor, actDelete, "admin"),
	api(rbacFlavorProfile, actGetAll, "admin"), api(rbacFlavorProfile, actPost, "admin"), api(rbacFlavorProfile, actPut, "admin"),
	api(rbacFlavorProfile, actGetOne, "admin"), api(rbacFlavorProfile, actDelete, "admin"),
	// availability_zone.py, availability_zone_profile.py
	api(rbacAvailabilityZone, actGetAll, "read"), api(rbacAvailabilityZone, actPost, "admin"),
	api(rbacAvailabilityZone, actPut, "admin"), api(rbacAvailabilityZone, actGetOne, "read"),
	api(rbacAvailabilityZone, actDelete, "admin"),
	api(rbacAvailabilityZoneProf, actGetAll, "admin"), api(rbacAvailabilityZoneProf, actPost, "admin"),
	api(rbacAvailabilityZoneProf, actPut, "admin"), api(rbacAvailabilityZoneProf, actGetOne, "admin"),
	api(rbacAvailabilityZoneProf, actDelete, "admin"),

	// keel's operator endpoints: goroutine stacks, profiles, the command line,
	// cluster addresses and object counts are an operator's, never a project's.
	{name: ruleOperator, check: "rule:load-balancer:admin"},
}

// rbacObjects are the rule prefixes of the API's resources, by their singular
// root key.
var rbacObjects = map[string]string{
	"loadbalancer": rbacLoadBalancer, "listener": rbacListener, "pool": rbacPool, "member": rbacMember,
	"healthmonitor": rbacHealthMonitor, "l7policy": rbacL7Policy, "rule": rbacL7Rule, "quota": rbacQuota,
	"amphora": rbacAmphora, "flavor": rbacFlavor, "flavorprofile": rbacFlavorProfile,
	"availability_zone": rbacAvailabilityZone, "availability_zone_profile": rbacAvailabilityZoneProf,
}

// hasGlobalList reports whether the objects have Octavia's get_all-global rule
// (listed across projects; members and L7 rules are listed per parent).
func hasGlobalList(rbac string) bool {
	for _, r := range octaviaPolicy {
		if r.name == rbac+actGetAllGlobal {
			return true
		}
	}
	return false
}

// api is one of Octavia's API rules: <object><action> → rule:load-balancer:<base>.
func api(object, action, base string) policyRule {
	return policyRule{name: object + action, check: "rule:load-balancer:" + base}
}

// credentials are what a check reads of the request's identity (oslo's creds).
type credentials struct {
	roles   map[string]bool // lower-case names
	project string          // "" unless project-scoped
	domain  string          // a domain-scoped token's domain
	system  string          // "all" for a system-scoped token
	isAdmin bool            // Octavia's context.is_admin
}

// check is a compiled check string: it answers for credentials and the target's
// project.
type check func(p *Policy, c *credentials, target string, depth int) bool

// Policy is the compiled table under one set of options.
type Policy struct {
	opts  PolicyOptions
	rules map[string]check
}

// NewPolicy compiles the table. The table is static: a malformed entry is a
// programming error and panics at start.
func NewPolicy(opts PolicyOptions) *Policy {
	table := append(append(slices.Clip(octaviaPolicy), blazarPolicy()...), moganPolicy()...)
	p := &Policy{opts: opts, rules: make(map[string]check, len(table))}
	for _, r := range table {
		if _, dup := p.rules[r.name]; dup {
			panic("policy: duplicate rule " + r.name)
		}
		c := mustParseCheck(r.check)
		if r.deprecated != "" && !opts.EnforceNewDefaults {
			c = orChecks(c, mustParseCheck(r.deprecated))
		}
		p.rules[r.name] = c
	}
	for _, r := range table { // every rule:x must exist
		for _, ref := range ruleRefs(r.check + " " + r.deprecated) {
			if _, ok := p.rules[ref]; !ok {
				panic("policy: " + r.name + " refers to missing rule " + ref)
			}
		}
	}
	return p
}

// Options returns the options the table was compiled with.
func (p *Policy) Options() PolicyOptions { return p.opts }

// Allowed reports whether rule allows credentials on an object of project
// target. An unknown rule allows nothing (oslo fails closed).
func (p *Policy) Allowed(rule string, c *credentials, target string) bool {
	r, ok := p.rules[rule]
	return ok && r(p, c, target, 0)
}

// contextIsAdmin is Octavia's context.is_admin: the context_is_admin rule, which
// is system-scoped, so EnforceScope refuses it to other tokens.
func (p *Policy) contextIsAdmin(c *credentials) bool {
	if p.opts.EnforceScope && c.system == "" {
		return false
	}
	// check_is_admin enforces with the credentials as the target.
	return p.Allowed("context_is_admin", c, c.project)
}

// Rules lists the table's rule names (for tests and documentation).
func (p *Policy) Rules() []string {
	out := make([]string, 0, len(octaviaPolicy))
	for _, r := range octaviaPolicy {
		out = append(out, r.name)
	}
	return out
}

// authorize refuses (403, Octavia's message) a request whose identity rule does
// not allow on an object of project: the one authorization check of every
// handler.
func authorize(ctx *fasthttp.RequestCtx, rule, project string) error {
	if !identityOf(ctx).Allowed(rule, project) {
		return forbidden()
	}
	return nil
}

// listScope is Octavia's _auth_get_all for a list of rbac objects, filtered to
// project when the request names one (""): the project the list is narrowed to
// ("" for every project), or 403.
func listScope(ctx *fasthttp.RequestCtx, rbac, project string) (string, error) {
	who := identityOf(ctx)
	if who.Allowed(rbac+actGetAllGlobal, project) {
		return project, nil
	}
	if project == "" {
		project = who.ProjectID
	}
	if project == "" {
		return "", forbidden()
	}
	return project, authorize(ctx, rbac+actGetAll, project)
}

// --- check strings ---

// The grammar is oslo.policy's: "or" binds looser than "and", "not" binds
// tightest, parentheses group; an atom is kind:match, "@" (always) or "!"
// (never). Kinds: role, rule, system_scope, project_id (match
// "%(project_id)s": the target's project), domain_id, is_admin.

func mustParseCheck(s string) check {
	toks := tokenize(s)
	ps := &checkParser{toks: toks}
	c, err := ps.or()
	if err == nil && ps.pos != len(toks) {
		err = fmt.Errorf("unexpected %q", toks[ps.pos])
	}
	if err != nil {
		panic(fmt.Sprintf("policy: check %q: %v", s, err))
	}
	return c
}

func tokenize(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		for strings.HasPrefix(f, "(") {
			out = append(out, "(")
			f = f[1:]
		}
		closing := 0
		for strings.HasSuffix(f, ")") {
			closing++
			f = f[:len(f)-1]
		}
		if f != "" {
			out = append(out, f)
		}
		for ; closing > 0; closing-- {
			out = append(out, ")")
		}
	}
	return out
}

type checkParser struct {
	toks []string
	pos  int
}

func (ps *checkParser) peek() string {
	if ps.pos < len(ps.toks) {
		return ps.toks[ps.pos]
	}
	return ""
}

func (ps *checkParser) or() (check, error) {
	c, err := ps.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(ps.peek(), "or") {
		ps.pos++
		d, err := ps.and()
		if err != nil {
			return nil, err
		}
		c = orChecks(c, d)
	}
	return c, nil
}

func (ps *checkParser) and() (check, error) {
	c, err := ps.not()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(ps.peek(), "and") {
		ps.pos++
		d, err := ps.not()
		if err != nil {
			return nil, err
		}
		a, b := c, d
		c = func(p *Policy, cr *credentials, t string, depth int) bool {
			return a(p, cr, t, depth) && b(p, cr, t, depth)
		}
	}
	return c, nil
}

func (ps *checkParser) not() (check, error) {
	if strings.EqualFold(ps.peek(), "not") {
		ps.pos++
		c, err := ps.not()
		if err != nil {
			return nil, err
		}
		return func(p *Policy, cr *credentials, t string, depth int) bool { return !c(p, cr, t, depth) }, nil
	}
	return ps.atom()
}

func (ps *checkParser) atom() (check, error) {
	tok := ps.peek()
	ps.pos++
	switch tok {
	case "":
		return nil, fmt.Errorf("unexpected end")
	case "(":
		c, err := ps.or()
		if err != nil {
			return nil, err
		}
		if ps.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		ps.pos++
		return c, nil
	case "@":
		return func(*Policy, *credentials, string, int) bool { return true }, nil
	case "!":
		return func(*Policy, *credentials, string, int) bool { return false }, nil
	}
	kind, match, ok := strings.Cut(tok, ":")
	if !ok {
		return nil, fmt.Errorf("%q is not kind:match", tok)
	}
	switch kind {
	case "role":
		role := strings.ToLower(match)
		return func(_ *Policy, c *credentials, _ string, _ int) bool { return c.roles[role] }, nil
	case "rule":
		return func(p *Policy, c *credentials, t string, depth int) bool {
			r, ok := p.rules[match]
			return ok && depth < 32 && r(p, c, t, depth+1)
		}, nil
	case "system_scope":
		return func(_ *Policy, c *credentials, _ string, _ int) bool { return c.system == match }, nil
	case "domain_id":
		return func(_ *Policy, c *credentials, _ string, _ int) bool { return c.domain != "" && c.domain == match }, nil
	case "project_id":
		if match != "%(project_id)s" {
			return nil, fmt.Errorf("project_id matches only %%(project_id)s")
		}
		// oslo compares the target's value with the credentials' as strings.
		return func(_ *Policy, c *credentials, t string, _ int) bool { return c.project == t }, nil
	case "is_admin":
		want := strings.EqualFold(match, "true")
		return func(_ *Policy, c *credentials, _ string, _ int) bool { return c.isAdmin == want }, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

func orChecks(a, b check) check {
	return func(p *Policy, c *credentials, t string, depth int) bool {
		return a(p, c, t, depth) || b(p, c, t, depth)
	}
}

// ruleRefs lists the rule:x references of a check string.
func ruleRefs(s string) []string {
	var out []string
	for _, tok := range tokenize(s) {
		if name, ok := strings.CutPrefix(tok, "rule:"); ok {
			out = append(out, name)
		}
	}
	return out
}
