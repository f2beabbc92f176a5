package baremetal

// Mogan's seed-era default policy (nimble/common/policy.py) as data: rule
// name → oslo.policy check string, the form keel's HTTP policy table
// (http/policy.go) compiles and evaluates. Names are keel's mogan: prefix
// (the seed era said nimble:; later Mogan said mogan:server:…). The target
// of an instance rule is the instance's project, so another project's
// instance is 403 (after the lookup: an unknown one is 404). Listing has no
// rule: it is filtered by project, and all_tenants widens it only for
// RuleAdminAPI. Create is open to anyone authenticated ("@"; Mogan writes "", which
// oslo reads the same and keel's parser does not take). A refusal is
// ErrPolicy(rule).

// PolicyRule is one row: a rule name and its check string.
type PolicyRule struct {
	Name, Check string
}

// The rules the API authorizes with.
const (
	RuleAdminAPI              = "admin_api"
	RuleInstanceCreate        = "mogan:instance:create"
	RuleInstanceGet           = "mogan:instance:get"
	RuleInstanceGetStates     = "mogan:instance:get_states"
	RuleInstanceUpdate        = "mogan:instance:update"
	RuleInstanceDelete        = "mogan:instance:delete"
	RuleInstanceSetPowerState = "mogan:instance:set_power_state"
)

// PolicyRules returns Mogan's table: the base rules, then the instance
// rules. The slice is the caller's.
func PolicyRules() []PolicyRule {
	return []PolicyRule{
		{Name: RuleAdminAPI, Check: "role:admin or role:administrator"},
		{Name: "is_admin", Check: "rule:admin_api"},
		{Name: "admin_or_owner", Check: "rule:is_admin or project_id:%(project_id)s"},

		{Name: RuleInstanceCreate, Check: "@"},
		{Name: RuleInstanceGet, Check: "rule:admin_or_owner"},
		{Name: RuleInstanceGetStates, Check: "rule:admin_or_owner"},
		{Name: RuleInstanceUpdate, Check: "rule:admin_or_owner"},
		{Name: RuleInstanceDelete, Check: "rule:admin_or_owner"},
		{Name: RuleInstanceSetPowerState, Check: "rule:admin_or_owner"},
	}
}
