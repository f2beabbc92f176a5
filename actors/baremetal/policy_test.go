package baremetal

import (
	"strings"
	"testing"
)

func TestPolicyRules(t *testing.T) {
	rules := map[string]string{}
	for _, r := range PolicyRules() {
		if _, dup := rules[r.Name]; dup {
			t.Errorf("duplicate %s", r.Name)
		}
		if r.Check == "" {
			t.Errorf("%s: empty check (keel's parser wants @)", r.Name)
		}
		rules[r.Name] = r.Check
	}
	for name, check := range rules {
		for _, ref := range strings.Fields(check) {
			if target, ok := strings.CutPrefix(ref, "rule:"); ok && rules[target] == "" {
				t.Errorf("%s refers to missing %s", name, target)
			}
		}
		if strings.HasPrefix(name, "mogan:instance:") && name != RuleInstanceCreate && check != "rule:admin_or_owner" {
			t.Errorf("%s: %s", name, check)
		}
	}
	if len(rules) != 9 || rules[RuleInstanceCreate] != "@" || rules[RuleAdminAPI] != "role:admin or role:administrator" {
		t.Errorf("%v", rules)
	}
}
