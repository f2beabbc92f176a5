package http

import (
	"strings"

	"keel/actors"
	"keel/actors/baremetal"
)

// Mogan's seed-era policy (actors/baremetal.PolicyRules) joins keel's one
// policy engine under names that cannot collide with Octavia's or Blazar's:
// the instance rules already are mogan:*, the base rules (admin_api, is_admin,
// admin_or_owner) become mogan:<name>, and rule:<name> references inside them
// are renamed alike. So Octavia's (load-balancer_admin) and Blazar's
// administrators are not Mogan's unless they hold admin or administrator.
//
// Mogan's seed era has no policy on instance types beyond the admin API rule;
// keel names it: reading types (and their extra specs) is anyone's, writing
// them (and their extra specs) the administrator's.

// The Mogan rules the HTTP layer names itself.
const (
	ruleMoganAdmin      = "mogan:" + baremetal.RuleAdminAPI
	ruleMoganTypeGet    = "mogan:instance_type:get"
	ruleMoganTypeCreate = "mogan:instance_type:create"
	ruleMoganTypeUpdate = "mogan:instance_type:update"
	ruleMoganTypeDelete = "mogan:instance_type:delete"

	ruleMoganExtraSpecsUpdate = actors.RuleInstanceTypeSetExtraSpecs
	ruleMoganExtraSpecsDelete = actors.RuleInstanceTypeUnsetExtraSpec
)

// moganPolicy returns Mogan's rules as rows of keel's table.
func moganPolicy() []policyRule {
	rules := baremetal.PolicyRules()
	base := map[string]bool{}
	for _, r := range rules {
		if !strings.HasPrefix(r.Name, "mogan:") {
			base[r.Name] = true
		}
	}
	rename := func(name string) string {
		if base[name] {
			return "mogan:" + name
		}
		return name
	}
	var out []policyRule
	for _, r := range rules {
		toks := tokenize(r.Check)
		for i, tok := range toks {
			if ref, ok := strings.CutPrefix(tok, "rule:"); ok {
				toks[i] = "rule:" + rename(ref)
			}
		}
		out = append(out, policyRule{name: rename(r.Name), check: strings.Join(toks, " ")})
	}
	return append(out,
		policyRule{name: ruleMoganTypeGet, check: "@"},
		policyRule{name: ruleMoganTypeCreate, check: "rule:" + ruleMoganAdmin},
		policyRule{name: ruleMoganTypeUpdate, check: "rule:" + ruleMoganAdmin},
		policyRule{name: ruleMoganTypeDelete, check: "rule:" + ruleMoganAdmin},
		policyRule{name: ruleMoganExtraSpecsUpdate, check: "rule:" + ruleMoganAdmin},
		policyRule{name: ruleMoganExtraSpecsDelete, check: "rule:" + ruleMoganAdmin},
	)
}
