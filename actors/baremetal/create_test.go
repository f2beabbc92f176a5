package baremetal

import (
	"reflect"
	"strings"
	"testing"
)

const (
	typeUUID  = "0607b5f3-6111-424d-ba46-f5de39a6fa69"
	imageUUID = "efe0a06f-ca95-4808-b41e-9f55b9c5eb98"
	netUUID   = "c1940655-8b8e-4370-b8f9-03ba1daeca31"
)

// body is a valid create body with extra appended (a JSON fragment starting
// with a comma), or with a key dropped when drop names it.
func body(drop, extra string) string {
	parts := map[string]string{
		"name":               `"name": "i1"`,
		"image_uuid":         `"image_uuid": "` + imageUUID + `"`,
		"instance_type_uuid": `"instance_type_uuid": "` + typeUUID + `"`,
		"networks":           `"networks": [{"net_id": "` + netUUID + `"}]`,
	}
	var kept []string
	for _, k := range createRequired {
		if k != drop {
			kept = append(kept, parts[k])
		}
	}
	return "{" + strings.Join(kept, ", ") + extra + "}"
}

func TestValidateCreateOK(t *testing.T) {
	req, err := ValidateCreate([]byte(body("", `, "description": "d", "availability_zone": "az1",
		"extra": {"k-1:x. y": "v"}, "scheduler_hints": {"reservation": "{AB0D5D30-2E7B-4E43-9A3A-3D1E8D0C0F11}"},
		"networks": [{"net_id": "`+strings.ToUpper(netUUID)+`", "port_type": "10GE"}, {"net_id": "`+strings.ReplaceAll(netUUID, "-", "")+`"}]`)))
	if err != nil {
		t.Fatal(err)
	}
	d, az := "d", "az1"
	want := CreateRequest{
		Name: "i1", Description: &d, AvailabilityZone: &az,
		ImageUUID: imageUUID, InstanceTypeUUID: typeUUID,
		Networks:    []Network{{NetID: netUUID, PortType: "10GE"}, {NetID: netUUID}},
		Extra:       map[string]string{"k-1:x. y": "v"},
		Reservation: "ab0d5d30-2e7b-4e43-9a3a-3d1e8d0c0f11",
	}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("%+v\nwant %+v", req, want)
	}
	req, err = ValidateCreate([]byte(body("", "")))
	if err != nil || req.Description != nil || req.AvailabilityZone != nil || req.Extra == nil || req.Reservation != "" {
		t.Errorf("%+v %v", req, err)
	}
}

func TestValidateCreateRefusals(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, c := range []struct{ body, want string }{
		{`{"name": `, "the request body is not valid JSON"},
		{`{} {}`, "the request body is not valid JSON"},
		{`[1]`, "[1] is not of type 'object'"},
		{`null`, "None is not of type 'object'"},
		{body("name", ""), "'name' is a required property"},
		{body("image_uuid", ""), "'image_uuid' is a required property"},
		{body("instance_type_uuid", ""), "'instance_type_uuid' is a required property"},
		{body("networks", ""), "'networks' is a required property"},
		{body("", `, "foo": 1`), "Additional properties are not allowed ('foo' was unexpected)"},
		{body("", `, "foo": 1, "bar": 2`), "Additional properties are not allowed ('bar', 'foo' were unexpected)"},
		{`{"name": 5, "image_uuid": "x", "instance_type_uuid": "y", "networks": []}`, "5 is not of type 'string'"},
		{body("", `, "name": ""`), "'' is too short"},
		{body("", `, "name": "`+long+`"`), "'" + long + "' is too long"},
		{body("", `, "description": null`), "None is not of type 'string'"},
		{body("", `, "availability_zone": ""`), "'' is too short"},
		{body("", `, "image_uuid": "abc"`), "'abc' is not a 'uuid'"},
		{body("", `, "instance_type_uuid": 7`), "7 is not of type 'string'"},
		{body("", `, "networks": []`), "[] is too short"},
		{body("", `, "networks": {}`), "{} is not of type 'array'"},
		{body("", `, "networks": ["x"]`), "'x' is not of type 'object'"},
		{body("", `, "networks": [{"uuid": "`+netUUID+`"}]`), "'net_id' is a required property"},
		{body("", `, "networks": [{"net_id": "`+netUUID+`", "fixed_ip": "1.2.3.4"}]`), "Additional properties are not allowed ('fixed_ip' was unexpected)"},
		{body("", `, "networks": [{"net_id": "nope"}]`), "'nope' is not a 'uuid'"},
		{body("", `, "networks": [{"net_id": "`+netUUID+`", "port_type": ""}]`), "'' is too short"},
		{body("", `, "extra": []`), "[] is not of type 'object'"},
		{body("", `, "extra": {"bad/key": "v"}`), "'bad/key' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"},
		{body("", `, "extra": {"k": 1}`), "1 is not of type 'string'"},
		{body("", `, "extra": {"k": "`+long+`"}`), "'" + long + "' is too long"},
		{body("", `, "scheduler_hints": {"group": "x"}`), "Additional properties are not allowed ('group' was unexpected)"},
		{body("", `, "scheduler_hints": {"reservation": "r1"}`), "'r1' is not a 'uuid'"},
		{body("", `, "scheduler_hints": "r1"`), "'r1' is not of type 'object'"},
	} {
		_, err := ValidateCreate([]byte(c.body))
		if err == nil {
			t.Errorf("%s: accepted", c.body)
			continue
		}
		if want := "400 Invalid create body: " + c.want; errText(err) != want {
			t.Errorf("%s:\n got %s\nwant %s", c.body, errText(err), want)
		}
	}
}

func TestCanonicalUUID(t *testing.T) {
	for in, want := range map[string]string{
		netUUID:                               netUUID,
		strings.ToUpper(netUUID):              netUUID,
		"urn:uuid:" + netUUID:                 netUUID,
		"{" + netUUID + "}":                   netUUID,
		strings.ReplaceAll(netUUID, "-", ""):  netUUID,
		netUUID[:35]:                          "",
		strings.Replace(netUUID, "c", "g", 1): "",
	} {
		got, ok := canonicalUUID(in)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %s %v", in, got, ok)
		}
	}
}
