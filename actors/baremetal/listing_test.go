package baremetal

import (
	"reflect"
	"testing"
)

func TestParseFields(t *testing.T) {
	for raw, want := range map[string][]string{
		"":                                    {"links"},
		"name":                                {"name", "links"},
		" Name , UUID,name,,status ":          {"name", "uuid", "status", "links"},
		"nope,power_state,links,EXTRA":        {"power_state", "extra", "links"},
		"network_info,launched_at,image_uuid": {"network_info", "launched_at", "image_uuid", "links"},
	} {
		if got := ParseFields(raw); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, want %v", raw, got, want)
		}
	}
	for _, f := range ListFields {
		if !contains(DetailFields, f) {
			t.Errorf("list field %s not a detail field", f)
		}
	}
}

func TestParseAllTenants(t *testing.T) {
	for _, v := range []string{"1", "true", "True", "YES", "on", "t", "y", " 1 "} {
		if got, err := ParseAllTenants(v); err != nil || !got {
			t.Errorf("%q: %v %v", v, got, err)
		}
	}
	for _, v := range []string{"0", "false", "no", "off", "F", "n"} {
		if got, err := ParseAllTenants(v); err != nil || got {
			t.Errorf("%q: %v %v", v, got, err)
		}
	}
	for _, v := range []string{"", "2", "maybe", "truee"} {
		if _, err := ParseAllTenants(v); err == nil || errText(err) != errText(ErrInvalidAllTenants(v)) {
			t.Errorf("%q: %v", v, err)
		}
	}
}
