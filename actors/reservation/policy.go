package reservation

// Blazar's default policy (Zed, blazar/policies/*.py) as data: rule name →
// oslo.policy check string, the form keel's HTTP policy table (http/policy.go)
// compiles and evaluates. The target of a lease rule is the lease's project
// (so another project's lease is 403, not 404; the API looks a lease up with
// blazar:leases:get first, so a refused DELETE also names get). A refusal is
// ErrPolicy(rule). Master's reader/member defaults are not here: keel follows
// the Zed peer.

// PolicyRule is one row: a rule name and its check string.
type PolicyRule struct {
	Name, Check string
}

// The rules the API authorizes with.
const (
	RuleLeasesGet    = "blazar:leases:get"
	RuleLeasesPost   = "blazar:leases:post"
	RuleLeasesPut    = "blazar:leases:put"
	RuleLeasesDelete = "blazar:leases:delete"

	RuleHostsGet                      = "blazar:oshosts:get"
	RuleHostsPost                     = "blazar:oshosts:post"
	RuleHostsPut                      = "blazar:oshosts:put"
	RuleHostsDelete                   = "blazar:oshosts:delete"
	RuleHostsGetAllocations           = "blazar:oshosts:get_allocations"
	RuleHostsGetResourceProperties    = "blazar:oshosts:get_resource_properties"
	RuleHostsUpdateResourceProperties = "blazar:oshosts:update_resource_properties"
)

// PolicyRules returns Blazar's table: the two base rules, then the lease and
// host rules. The slice is the caller's.
func PolicyRules() []PolicyRule {
	return []PolicyRule{
		{Name: "admin", Check: "is_admin:True or role:admin"},
		{Name: "admin_or_owner", Check: "rule:admin or project_id:%(project_id)s"},

		{Name: RuleLeasesGet, Check: "rule:admin_or_owner"},
		{Name: RuleLeasesPost, Check: "rule:admin_or_owner"},
		{Name: RuleLeasesPut, Check: "rule:admin_or_owner"},
		{Name: RuleLeasesDelete, Check: "rule:admin_or_owner"},

		{Name: RuleHostsGet, Check: "rule:admin"},
		{Name: RuleHostsPost, Check: "rule:admin"},
		{Name: RuleHostsPut, Check: "rule:admin"},
		{Name: RuleHostsDelete, Check: "rule:admin"},
		{Name: RuleHostsGetAllocations, Check: "rule:admin"},
		{Name: RuleHostsGetResourceProperties, Check: "rule:admin"},
		{Name: RuleHostsUpdateResourceProperties, Check: "rule:admin"},
	}
}
