package reservation

import (
	"slices"
	"testing"
)

func TestParseRequirements(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // the requirements, or the refusal
	}{
		{``, `[]`},
		{`[]`, `[]`},
		{` [ ] `, `[]`},
		{`["==", "$hypervisor_hostname", "compute"]`, `[{hypervisor_hostname == compute}]`},
		{`["=", "$vcpus", "8"]`, `[{vcpus == 8}]`},
		{`[">=", "$memory_mb", "4096"]`, `[{memory_mb >= 4096}]`},
		{`["!=", "$gpu", "yes please"]`, `[{gpu != yes please}]`},
		{`["and", ["<", "$vcpus", "8"], [">", "$local_gb", "10"]]`, `[{vcpus < 8} {local_gb > 10}]`},
		// A nested "and" counts for its first requirement only (Blazar).
		{`["and", ["and", ["==", "$a", "1"], ["==", "$b", "2"]], ["==", "$c", "3"]]`, `[{a == 1} {c == 3}]`},
		// An element of an "and" may be JSON in a string.
		{`["and", "[\"==\", \"$a\", \"1\"]"]`, `[{a == 1}]`},
		// Refusals: the value is not a string, the key has no $, empty value.
		{`["==", "$vcpus", 8]`, `400 Malformed requirements ['==', '$vcpus', 8]`},
		{`["==", "vcpus", "8"]`, `400 Malformed requirements ['==', 'vcpus', '8']`},
		{`["==", "$", "8"]`, `400 Malformed requirements ['==', '$', '8']`},
		{`["==", "$vcpus", ""]`, `400 Malformed requirements ['==', '$vcpus', '']`},
		{`["~", "$vcpus", "8"]`, `400 Malformed requirements ['~', '$vcpus', '8']`},
		{`["or", ["==", "$a", "1"], ["==", "$b", "2"]]`, `400 Malformed requirements ['or', ['==', '$a', '1'], ['==', '$b', '2']]`},
		{`["and"]`, `400 Malformed requirements ['and']`},
		// Inside an "and", the first malformed element is named, not the list.
		{`["and", ["==", "$a", "1"], ["==", "$b", 2]]`, `400 Malformed requirements ['==', '$b', 2]`},
		// An empty element fails the "and" as a whole; "=" already rewritten.
		{`["and", ["=", "$a", "1"], []]`, `400 Malformed requirements ['and', ['==', '$a', '1'], []]`},
		{`not json`, `400 Malformed requirements not json`},
		{`["==", "$a", "1"] x`, `400 Malformed requirements ["==", "$a", "1"] x`},
		{`{"a": 1}`, `400 Malformed requirements {'a': 1}`},
		{`"text"`, `400 Malformed requirements text`},
		{`8`, `400 Malformed requirements 8`},
		{`null`, `400 Malformed requirements None`},
		{`["==", "$my key", "1"]`, `400 Malformed requirements ['==', '$my key', '1']`},
	} {
		r, err := ParseRequirements(c.in)
		got := errText(err)
		if err == nil {
			got = fmtReqs(r)
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.in, got, c.want)
		}
	}
}

func fmtReqs(rs Requirements) string {
	s := "["
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += "{" + r.Key + " " + r.Op + " " + r.Value + "}"
	}
	return s + "]"
}

func TestParseFilters(t *testing.T) {
	r, err := ParseFilters(`["==", "$vcpus", "8"]`, `["==", "$gpu", "yes"]`)
	if err != nil || fmtReqs(r) != "[{vcpus == 8} {gpu == yes}]" {
		t.Errorf("%v %v", fmtReqs(r), err)
	}
	if _, err := ParseFilters("", `[1]`); errText(err) != "400 Malformed requirements [1]" {
		t.Errorf("resource_properties: %v", err)
	}
}

func TestMatch(t *testing.T) {
	host := Host{ID: "1", Reservable: true,
		Columns: map[string]string{"hypervisor_hostname": "compute-1", "vcpus": "8", "memory_mb": "16384",
			"local_gb": "100", "hypervisor_type": "QEMU", "availability_zone": "nova", "service_name": "compute-1"},
		Capabilities: map[string]string{"gpu": "10", "color": "blue", "vcpus": "99"}}
	for _, c := range []struct {
		filter string
		want   bool
	}{
		{`["==", "$hypervisor_hostname", "compute-1"]`, true},
		{`["==", "$hypervisor_hostname", "compute-2"]`, false},
		{`["<", "$hypervisor_hostname", "compute-2"]`, true},
		// INTEGER columns compare as numbers: 8 >= 10 is false (as text it is true).
		{`[">=", "$vcpus", "10"]`, false},
		{`["<", "$vcpus", "10"]`, true},
		{`["==", "$vcpus", "8.0"]`, true},
		{`["<", "$vcpus", "abc"]`, true}, // SQLite: a number sorts before text
		{`["==", "$vcpus", "abc"]`, false},
		// The column, not the capability that shadows it in the API.
		{`["==", "$vcpus", "99"]`, false},
		// Extra capabilities compare as strings: "10" < "9".
		{`["<", "$gpu", "9"]`, true},
		{`[">", "$gpu", "9"]`, false},
		{`[">=", "$gpu", "10"]`, true},
		{`["!=", "$color", "red"]`, true},
		// A host without the capability does not match, whatever the operator.
		{`["!=", "$ssd", "yes"]`, false},
		// NULL columns: status is never set.
		{`["==", "$status", "null"]`, true},
		{`["!=", "$status", "null"]`, false},
		{`["!=", "$status", "x"]`, false},
		{`["!=", "$hypervisor_hostname", "null"]`, true},
		{`["==", "$reservable", "1"]`, true},
		{`["and", ["==", "$availability_zone", "nova"], ["==", "$color", "blue"]]`, true},
		{`["and", ["==", "$availability_zone", "nova"], ["==", "$color", "red"]]`, false},
		{``, true},
	} {
		r, err := ParseRequirements(c.filter)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		if got := r.Match(host); got != c.want {
			t.Errorf("%s: %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestUnknownCapabilities(t *testing.T) {
	r, _ := ParseFilters(`["and", ["==", "$vcpus", "8"], ["==", "$nokey", "1"], ["==", "$gpu", "1"]]`,
		`["and", ["==", "$nokey", "2"], ["==", "$other", "1"]]`)
	known := map[string]bool{"gpu": true}
	if got := UnknownCapabilities(r, known); !slices.Equal(got, []string{"nokey", "other"}) {
		t.Errorf("unknown: %v", got)
	}
	if got := errText(CheckCapabilities(r, known)); got != "400 nokey ComputeHostExtraCapability was not found" {
		t.Errorf("check: %s", got)
	}
	if err := CheckCapabilities(r[:1], known); err != nil {
		t.Errorf("a column is always known: %v", err)
	}
}
