package reservation

import (
	"reflect"
	"testing"
)

func TestParseHostCreate(t *testing.T) {
	spec, err := ParseHostCreate([]byte(`{"name": "c1", "vcpus": "8", "memory_mb": 1024, "gpu": true, "ssd": false,
		"cores": 4, "ratio": 1.5, "rack": "r1", "bmc_address": "10.0.0.2", "bmc_port": 6230, "power_driver": "fake"}`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "c1" || spec.HypervisorHostname != "c1" || spec.ServiceName != "c1" || spec.HypervisorType != "baremetal" ||
		spec.VCPUs != 8 || spec.MemoryMB != 1024 {
		t.Fatalf("columns %+v", spec)
	}
	want := map[string]string{"gpu": "1", "ssd": "0", "cores": "4", "ratio": "1.5", "rack": "r1"}
	if !reflect.DeepEqual(spec.Capabilities, want) {
		t.Fatalf("capabilities %v, want %v", spec.Capabilities, want)
	}
	if spec.BMC.Address != "10.0.0.2" || spec.BMC.Port != 6230 || spec.BMC.PowerDriver != "fake" {
		t.Fatalf("bmc %+v", spec.BMC)
	}
	if s, _ := ParseHostCreate([]byte(`{"id": "c2", "bmc_address": "x"}`)); s.Name != "c2" || s.BMC.PowerDriver != "ipmi" {
		t.Fatalf("id as name, ipmi default: %+v", s)
	}
	for body, want := range map[string]string{
		`{}`:                          "Invalid values for host {}",
		`{"rack": "r1"}`:              "Invalid values for host {'rack': 'r1'}",
		`{"name": "a", "x": null}`:    "Malformed parameter x",
		`{"name": "a", "x": [1]}`:     "Malformed parameter x",
		`{"name": "a", "vcpus": "y"}`: "Malformed parameter vcpus",
		`{"name": "a", "power_driver": "redfish"}`:                                                "Malformed parameter power_driver",
		`{"name": "a", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk": "1"}`: "Extra capability key too long",
	} {
		if _, err := ParseHostCreate([]byte(body)); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

func TestParseHostUpdate(t *testing.T) {
	if _, err := ParseHostUpdate([]byte(`{}`)); err == nil || err.Error() != "No data to update" {
		t.Fatalf("empty: %v", err)
	}
	u, err := ParseHostUpdate([]byte(`{"vcpus": 99, "bmc_password": "p"}`))
	if err != nil || u.Capabilities["vcpus"] != "99" || !u.BMC.Set[KeyBMCPassword] || u.BMC.Password != "p" || len(u.Capabilities) != 1 {
		t.Fatalf("%+v %v", u, err)
	}
	if got := CapabilitiesInUse([]string{"rack", "gpu"}, []string{`["==", "$rack", "r1"]`, `bad`}); !reflect.DeepEqual(got, []string{"rack"}) {
		t.Fatalf("in use %v", got)
	}
}
