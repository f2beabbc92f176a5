package http_test

import (
	"testing"

	"keel/cluster/systemtest"
)

// TestConfigInjection: values that reach haproxy's configuration are checked at
// the API with Octavia's patterns (issue 11, item 5), whatever the amphora driver.
func TestConfigInjection(t *testing.T) {
	n := startNode(t)
	lbID := newLoadBalancer(t, n, "inject")
	const inject = `\nprogram x\n command /bin/sh -c id`
	cipherMsg := "Validation failure: Invalid characters in cipher string. Only alphanumeric, -, +, !, :, @, =, _, and . are allowed."
	for _, c := range []struct{ method, path, body, msg string }{
		{"POST", "/v2/lbaas/listeners", `{"listener":{"loadbalancer_id":"` + lbID + `","protocol":"TERMINATED_HTTPS","protocol_port":443,` +
			`"default_tls_container_ref":"ref","tls_ciphers":"AES` + inject + `"}}`, cipherMsg},
		{"POST", "/v2/lbaas/pools", `{"pool":{"loadbalancer_id":"` + lbID + `","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",` +
			`"tls_enabled":true,"tls_ciphers":"AES ALL"}}`, cipherMsg},
		{"POST", "/v2/lbaas/loadbalancers", `{"loadbalancer":{"vip_subnet_id":"` + subnet + `","listeners":[{"protocol":"HTTP",` +
			`"protocol_port":80,"default_pool":{"name":"p","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","tls_ciphers":"A` + inject + `"}}]}}`, cipherMsg},
	} {
		systemtest.ExpectFault(t, n.MustDo(400, c.method, c.path, c.body), 400, c.msg)
	}
	listenerID := newListener(t, n, lbID, "HTTP", 80)
	policy := newPolicy(t, n, lbID, `"listener_id":"`+listenerID+`","action":"REJECT"`)
	rules := "/v2/lbaas/l7policies/" + policy["id"].(string) + "/rules"
	// Python's "$" matches before a final newline, so Octavia takes these; keel not.
	systemtest.ExpectFault(t, n.MustDo(400, "POST", rules, `{"rule":{"type":"PATH","compare_type":"REGEX","value":"^/a\n"}}`), 400,
		"Invalid input for field/attribute value. Value: '^/a\n'. Value should match the pattern ^[^\\r\\n]*$")
	systemtest.ExpectFault(t, n.MustDo(400, "POST", "/v2/lbaas/l7policies",
		`{"l7policy":{"listener_id":"`+listenerID+`","action":"REJECT","rules":[{"type":"HEADER","compare_type":"REGEX","key":"X-A","value":"b\n"}]}}`),
		400, "Error parsing L7Rule: Invalid input for field/attribute value. Value: 'b\n'. Value should match the pattern ^[^\\r\\n]*$")
}
