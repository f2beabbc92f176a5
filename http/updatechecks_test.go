package http_test

import (
	"fmt"
	"testing"
)

// The checks an update makes against the row it changes are the grain's, on the
// row as the grain holds it: a second update that is valid only against the row
// before the first is refused as a single invalid request is, same status, same
// text.
func TestUpdateChecksTheRowTheLastWriteLeft(t *testing.T) {
	a := newPoolsAPI(t, "")
	lbID := a.loadBalancer("updatechecks")
	tlsListener := func(port int) string {
		id := a.create("/v2/lbaas/listeners", "listener", fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,
			"protocol":"TERMINATED_HTTPS","protocol_port":%d,"default_tls_container_ref":"http://barbican/v1/containers/c",
			"client_ca_tls_container_ref":"http://barbican/v1/containers/ca"}}`, lbID, port))["id"].(string)
		a.settle(lbID)
		return "/v2/lbaas/listeners/" + id
	}

	const mandatory = "Validation failure: Client authentication setting MANDATORY requires a client CA container reference."
	single, twice := tlsListener(443), tlsListener(8443)
	a.refusal(400, "PUT", single, `{"listener":{"client_ca_tls_container_ref":null,"client_authentication":"MANDATORY"}}`, mandatory)
	a.do(200, "PUT", twice, `{"listener":{"client_ca_tls_container_ref":null}}`)
	a.settle(lbID)
	a.refusal(400, "PUT", twice, `{"listener":{"client_authentication":"MANDATORY"}}`, mandatory)

	const crl = "Validation failure: A CA reference is required to specify a certificate revocation list."
	pool := "/v2/lbaas/pools/" + a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",
		"ca_tls_container_ref":"http://barbican/v1/containers/ca"`, lbID))["id"].(string)
	a.do(200, "PUT", pool, `{"pool":{"ca_tls_container_ref":null}}`)
	a.settle(lbID)
	a.refusal(400, "PUT", pool, `{"pool":{"crl_container_ref":"http://barbican/v1/containers/crl"}}`, crl)

	const domain = "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check"
	monitor := "/v2/lbaas/healthmonitors/" + a.create("/v2/lbaas/healthmonitors", "healthmonitor", fmt.Sprintf(`{"healthmonitor":
		{"pool_id":%q,"type":"HTTP","delay":5,"timeout":3,"max_retries":2,"http_version":1.1}}`, pool[len("/v2/lbaas/pools/"):]))["id"].(string)
	a.settle(lbID)
	a.do(200, "PUT", monitor, `{"healthmonitor":{"http_version":1.0}}`)
	a.settle(lbID)
	a.refusal(400, "PUT", monitor, `{"healthmonitor":{"domain_name":"example.com"}}`, domain)
}
