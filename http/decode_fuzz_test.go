package http

import (
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store/storepb"
)

// decoders are every request-body decoder, as the fuzz target selects them.
var decoders = []struct {
	name   string
	decode func(body []byte) error
}{
	{"loadbalancer create", func(b []byte) error {
		_, err := decodeLoadBalancerCreate(b, &actorspb.Caller{ProjectId: "p", Admin: true})
		return err
	}},
	{"loadbalancer create (member)", func(b []byte) error {
		_, err := decodeLoadBalancerCreate(b, &actorspb.Caller{ProjectId: "p"})
		return err
	}},
	{"loadbalancer update", func(b []byte) error { _, _, err := decodeLoadBalancerUpdate(b); return err }},
	{"listener create", func(b []byte) error {
		_, err := decodeListenerCreate(b, &actorspb.Caller{ProjectId: "p", Admin: true})
		return err
	}},
	{"listener update", func(b []byte) error { _, _, err := decodeListenerUpdate(b); return err }},
	{"pool create", func(b []byte) error { _, err := decodePoolCreate(b); return err }},
	{"pool update", func(b []byte) error {
		u, err := decodePoolUpdate(b)
		if err == nil {
			cur := &storepb.Pool{Protocol: "UDP", CrlContainerRef: "crl"}
			merged := proto.Clone(cur).(*storepb.Pool)
			_ = storepb.ApplyFields(merged, u.values, u.fields)
			err = octaviarules.CheckPoolUpdate(cur, merged, u.fields)
		}
		return err
	}},
	{"member create", func(b []byte) error { _, err := decodeMemberCreate(b); return err }},
	{"member update", func(b []byte) error { _, _, err := decodeMemberUpdate(b); return err }},
	{"member batch", func(b []byte) error { _, _, err := decodeMemberBatch(b); return err }},
	{"health monitor create", func(b []byte) error {
		v, err := decodeMonitorCreate(b)
		if err == nil {
			err = checkMonitorCreate(v)
		}
		return err
	}},
	{"health monitor update", func(b []byte) error {
		u, err := decodeMonitorUpdate(b)
		if err == nil {
			cur := &storepb.HealthMonitor{Type: "TCP", HttpVersion: "1.0"}
			if err = checkMonitorUpdate(cur, u); err == nil {
				err = octaviarules.CheckMonitorUpdate(cur, u.values)
			}
		}
		return err
	}},
	{"l7policy create", func(b []byte) error { _, _, err := decodeL7PolicyCreate(b); return err }},
	{"l7policy update", func(b []byte) error { _, _, err := decodeL7PolicyUpdate(b); return err }},
	{"l7rule create", func(b []byte) error { _, err := decodeL7RuleCreate(b); return err }},
	{"l7rule update", func(b []byte) error { _, _, err := decodeL7RuleUpdate(b); return err }},
	{"quota update", func(b []byte) error { _, _, _, err := decodeQuotaUpdate(b); return err }},
	{"flavor create", func(b []byte) error { _, err := decodeFlavorCreate(b); return err }},
	{"flavor update", func(b []byte) error { _, _, _, err := decodeFlavorUpdate(b); return err }},
	{"flavorprofile create", func(b []byte) error { _, err := decodeFlavorProfileCreate(b); return err }},
	{"availabilityzone create", func(b []byte) error { _, err := decodeAvailabilityZoneCreate(b); return err }},
	{"availabilityzone update", func(b []byte) error { _, _, _, err := decodeAvailabilityZoneUpdate(b); return err }},
	{"availabilityzoneprofile create", func(b []byte) error { _, err := decodeAvailabilityZoneProfileCreate(b); return err }},
	// Added last, so corpus entries naming an earlier decoder still reach it.
	{"flavorprofile update", func(b []byte) error { _, _, _, err := decodeFlavorProfileUpdate(b); return err }},
	{"availabilityzoneprofile update", func(b []byte) error {
		_, _, _, err := decodeAvailabilityZoneProfileUpdate(b)
		return err
	}},
}

// FuzzDecoders feeds arbitrary bodies to every decoder: none may panic, and every
// refusal must be a client error (4xx), never a 500. The seed corpus lives in
// testdata/fuzz/FuzzDecoders; `make test` also fuzzes briefly.
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{
		`{"loadbalancer":{"name":"a","vip_subnet_id":"08dce793-daef-411d-a896-d389cd45b1ea","tags":["x"],"admin_state_up":"yes"}}`,
		`{"loadbalancer":{"vip_address":"::1","vip_network_id":"08dce793daef411da896d389cd45b1ea","additional_vips":[{"subnet_id":"08dce793-daef-411d-a896-d389cd45b1ea"}]}}`,
		`{"listener":{"loadbalancer_id":"08dce793-daef-411d-a896-d389cd45b1ea","protocol":"TERMINATED_HTTPS","protocol_port":443,"default_tls_container_ref":"x","insert_headers":{"X-Forwarded-For":"true"},"allowed_cidrs":["10.0.0.0/8"],"tls_versions":["TLSv1.3"]}}`,
		`{"listener":{"connection_limit":null,"timeout_client_data":"7","tags":null}}`,
		`{"pool":{"loadbalancer_id":"08dce793-daef-411d-a896-d389cd45b1ea","protocol":"UDP","lb_algorithm":"SOURCE_IP","session_persistence":{"type":"SOURCE_IP","persistence_timeout":60,"persistence_granularity":"255.255.255.0"},"tls_enabled":true,"alpn_protocols":["h2"]}}`,
		`{"pool":{"session_persistence":{"cookie_name":"a;b"},"ca_tls_container_ref":null,"tls_versions":null}}`,
		`{"members":[{"address":"2001:db8::1","protocol_port":80,"monitor_port":null},null,{}]}`,
		`{"member":{"address":"10.0.0.1","protocol_port":"80","weight":null,"tags":["t"]}}`,
		`{"healthmonitor":{"pool_id":"08dce793-daef-411d-a896-d389cd45b1ea","type":"HTTP","delay":1,"timeout":1,"max_retries":1,"url_path":"/a%2fb?c","expected_codes":"200, 202","http_version":1.1,"domain_name":"a.example.com."}}`,
		`{"loadbalancer":{"vip_subnet_id":"08dce793-daef-411d-a896-d389cd45b1ea","listeners":[{"protocol":"HTTP","protocol_port":80,"default_pool":{"name":"p"},"l7policies":[{"action":"REDIRECT_TO_POOL","redirect_pool":{"name":"q","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"},"rules":[{"type":"PATH","compare_type":"REGEX","value":"^/a"}]}]}],"pools":[{"name":"p","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","members":[{"address":"192.0.2.1","protocol_port":80}],"healthmonitor":{"type":"PING","delay":1,"timeout":1,"max_retries":1}}]}}`,
		`{"l7policy":{"listener_id":"08dce793-daef-411d-a896-d389cd45b1ea","action":"REDIRECT_PREFIX","redirect_prefix":"https://a","redirect_http_code":301,"rules":[{"type":"HEADER","key":"X","compare_type":"EQUAL_TO","value":"v"}]}}`,
		`{"rule":{"type":"COOKIE","compare_type":"REGEX","key":"c","value":"(a|b","invert":true}}`,
		`{"quota":{"load_balancer":-1,"listener":null,"member":"5","health_monitor":2147483648}}`,
		`{"flavor":{"name":"f","flavor_profile_id":"08dce793-daef-411d-a896-d389cd45b1ea","enabled":true}}`,
		`{"flavorprofile":{"name":"p","provider_name":"amphora","flavor_data":"{\"loadbalancer_topology\": \"ACTIVE_STANDBY\"}"}}`,
		`{"availability_zone":{"name":"az","availability_zone_profile_id":"08dce793-daef-411d-a896-d389cd45b1ea"}}`,
		`{"availability_zone_profile":{"name":"p","provider_name":"amphora","availability_zone_data":"{}"}}`,
		`{"loadbalancer":[]}`, `[]`, `null`, ``, `{"loadbalancer":{"name":1e309}}`, `{"listener":{"protocol_port":-1}}`,
		"{\"loadbalancer\":{\"name\":\"caf\xe9\"}}", `{"listener":{"name":"\ud800\u0000","tags":[null],"tls_ciphers":"A\nB"}}`,
	} {
		for i := range decoders {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		d := decoders[int(which)%len(decoders)]
		err := d.decode(body)
		if err == nil {
			// What is accepted is stored as sent: never text encoding/json would
			// have changed (invalid UTF-8 becomes U+FFFD).
			if !utf8.Valid(body) {
				t.Fatalf("%s accepted a body that is not UTF-8: %q", d.name, body)
			}
			return
		}
		// Any refusal statusOf (the one place errors become statuses) maps to a
		// 4xx: an apiError, or an Octavia rule's octaviarules.Invalid.
		if status, _ := statusOf(err); status < 400 || status >= 500 {
			t.Fatalf("%s: %T, status %d for %q: %v", d.name, err, status, body, err)
		}
	})
}

// BenchmarkDecodeLoadBalancerCreate decodes the body keelbench creates with.
func BenchmarkDecodeLoadBalancerCreate(b *testing.B) {
	body := []byte(`{"loadbalancer":{"name":"bench-1","vip_subnet_id":"08dce793-daef-411d-a896-d389cd45b1ea","tags":["bench"]}}`)
	caller := &actorspb.Caller{ProjectId: "p"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeLoadBalancerCreate(body, caller); err != nil {
			b.Fatal(err)
		}
	}
}
