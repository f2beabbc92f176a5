package http

import (
	"strings"

	"keel/actors/reservation"
)

// Blazar's default policy (actors/reservation.PolicyRules, Zed) joins keel's
// one policy engine under names that cannot collide with Octavia's: every rule
// is blazar:<name> (the lease and host rules already are), and the rule:<name>
// references inside them are renamed alike. Blazar's is_admin:True is its own
// context's is_admin, which its policy derives from the admin role; keel reads
// it as rule:blazar:is_admin (role:admin), so Octavia's administrators
// (load-balancer_admin) are not Blazar's.

// ruleBlazarAdmin is Blazar's administrator: sees every project's leases,
// manages hosts.
const ruleBlazarAdmin = "blazar:admin"

// blazarPolicy returns Blazar's rules as rows of keel's table.
func blazarPolicy() []policyRule {
	base := map[string]bool{}
	rules := reservation.PolicyRules()
	for _, r := range rules {
		if !strings.HasPrefix(r.Name, "blazar:") {
			base[r.Name] = true
		}
	}
	rename := func(name string) string {
		if base[name] {
			return "blazar:" + name
		}
		return name
	}
	out := []policyRule{{name: "blazar:is_admin", check: "role:admin"}}
	for _, r := range rules {
		toks := tokenize(r.Check)
		for i, tok := range toks {
			if ref, ok := strings.CutPrefix(tok, "rule:"); ok {
				toks[i] = "rule:" + rename(ref)
			} else if strings.EqualFold(tok, "is_admin:True") {
				toks[i] = "rule:blazar:is_admin"
			}
		}
		out = append(out, policyRule{name: rename(r.Name), check: strings.Join(toks, " ")})
	}
	return out
}
