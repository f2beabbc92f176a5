package http

import (
	"encoding/json"
	"maps"
	"testing"
)

// TestPlainStringAgreesWithEncodingJSON: where plainString reads a value
// itself it reads what encoding/json would, and it leaves everything with an
// escape, or not a string, to encoding/json.
func TestPlainStringAgreesWithEncodingJSON(t *testing.T) {
	for _, raw := range []string{`""`, `"b-1"`, `"ünïcødé ☃"`, `"a b"`, `"08dce793-daef-411d-a896-d389cd45b1ea"`} {
		got, ok := plainString(json.RawMessage(raw))
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil || !ok || got != want {
			t.Errorf("plainString(%s) = %q, %v; encoding/json: %q, %v", raw, got, ok, want, err)
		}
	}
	for _, raw := range []string{`"a\"b"`, `"a\\b"`, `"\u00e9"`, `"\n"`, `null`, `1`, `true`, `["a"]`, `"`, ``, ` "a"`} {
		if got, ok := plainString(json.RawMessage(raw)); ok {
			t.Errorf("plainString(%s) = %q, want it left to encoding/json", raw, got)
		}
	}
}

// TestDecodeRootOnePass: the one-decode path for a well-formed body reads the
// same attributes as the two-step path every other body takes, and the
// two-step path still names what is wrong.
func TestDecodeRootOnePass(t *testing.T) {
	body := []byte(`{"loadbalancer": {"name": "a\"b", "tags": ["x"], "admin_state_up": false, "vip_subnet_id": null, "name": "last"}}`)
	f, err := decodeRoot(body, "load_balancer", "loadbalancer")
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	var want map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || json.Unmarshal(top["loadbalancer"], &want) != nil {
		t.Fatal("test body is not JSON")
	}
	if !maps.EqualFunc(f.fields, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Errorf("fields %q, want %q", f.fields, want)
	}
	if name, _ := f.str("name", 255); name != "last" {
		t.Errorf("name %q, want the last of the repeated attribute", name)
	}
	for body, want := range map[string]string{
		`{"loadbalancer": null}`:                  "Invalid input for field/attribute loadbalancer. Value: ''. Value should be an object",
		`{"loadbalancer": "x"}`:                   "Invalid input for field/attribute loadbalancer. Value: 'x'. Value should be an object",
		`{"loadbalancer": {}, "listener": {}}`:    "Unknown attribute for argument load_balancer: listener",
		`{"listener": {}}`:                        "Unknown attribute for argument load_balancer: listener",
		`{"loadbalancer": {}, "loadbalancer": 1}`: "Invalid input for field/attribute loadbalancer. Value: '1'. Value should be an object",
	} {
		_, err := decodeRoot([]byte(body), "load_balancer", "loadbalancer")
		if err == nil || err.Error() != want {
			t.Errorf("decodeRoot(%s): %v, want %q", body, err, want)
		}
	}
}
