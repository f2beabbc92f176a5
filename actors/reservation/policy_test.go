package reservation

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
		rules[r.Name] = r.Check
	}
	for name, check := range rules {
		for _, ref := range strings.Fields(check) {
			if target, ok := strings.CutPrefix(ref, "rule:"); ok && rules[target] == "" {
				t.Errorf("%s refers to missing %s", name, target)
			}
		}
		switch {
		case strings.HasPrefix(name, "blazar:leases:"):
			if check != "rule:admin_or_owner" {
				t.Errorf("%s: %s", name, check)
			}
		case strings.HasPrefix(name, "blazar:oshosts:"):
			if check != "rule:admin" {
				t.Errorf("%s: %s", name, check)
			}
		}
	}
	if len(rules) != 13 || rules["admin"] != "is_admin:True or role:admin" ||
		rules["admin_or_owner"] != "rule:admin or project_id:%(project_id)s" {
		t.Errorf("%v", rules)
	}
}
