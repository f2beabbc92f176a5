package baremetal

import (
	"reflect"
	"strings"
	"testing"
)

func view() Patchable {
	d := "old"
	return Patchable{Name: "n", Description: &d, Extra: map[string]string{"a": "1", "b": "2"}}
}

func TestApplyPatchOK(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		patch string
		want  Patchable
	}{
		{`[]`, view()},
		{`[{"op": "replace", "path": "/name", "value": "new"}]`,
			Patchable{Name: "new", Description: s("old"), Extra: map[string]string{"a": "1", "b": "2"}}},
		{`[{"op": "add", "path": "/description", "value": "d"}]`,
			Patchable{Name: "n", Description: s("d"), Extra: map[string]string{"a": "1", "b": "2"}}},
		{`[{"op": "remove", "path": "/description"}]`,
			Patchable{Name: "n", Extra: map[string]string{"a": "1", "b": "2"}}},
		{`[{"op": "replace", "path": "/description", "value": null}]`,
			Patchable{Name: "n", Extra: map[string]string{"a": "1", "b": "2"}}},
		{`[{"op": "add", "path": "/extra/c", "value": "3"}, {"op": "replace", "path": "/extra/a", "value": "x"}, {"op": "remove", "path": "/extra/b"}]`,
			Patchable{Name: "n", Description: s("old"), Extra: map[string]string{"a": "x", "c": "3"}}},
		{`[{"op": "add", "path": "/extra/a", "value": "over"}]`,
			Patchable{Name: "n", Description: s("old"), Extra: map[string]string{"a": "over", "b": "2"}}},
		{`[{"op": "remove", "path": "/extra"}]`,
			Patchable{Name: "n", Description: s("old"), Extra: map[string]string{}}},
		{`[{"op": "replace", "path": "/extra", "value": {"z": "26"}}]`,
			Patchable{Name: "n", Description: s("old"), Extra: map[string]string{"z": "26"}}},
		// ops apply in turn: a member added earlier can be replaced later.
		{`[{"op": "add", "path": "/extra/new", "value": "1"}, {"op": "replace", "path": "/extra/new", "value": "2"}]`,
			Patchable{Name: "n", Description: s("old"), Extra: map[string]string{"a": "1", "b": "2", "new": "2"}}},
	} {
		got, err := ApplyPatch(view(), []byte(c.patch))
		if err != nil {
			t.Errorf("%s: %s", c.patch, errText(err))
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.patch, got, c.want)
		}
	}
}

func TestApplyPatchRefusals(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, c := range []struct{ patch, want string }{
		{`{"op": "add"}`, "Invalid input for field/attribute patch. Value: ''. Value should be a list of JSON patch operations"},
		{`[1]`, "Invalid input for field/attribute patch. Value: ''. Value should be a list of JSON patch operations"},
		{`[{"op": "move", "from": "/name", "path": "/description"}]`, "Invalid input for field/attribute op. Value: 'move'. Value should be one of: add, remove, replace"},
		{`[{"op": "test", "path": "/name", "value": "n"}]`, "Invalid input for field/attribute op. Value: 'test'. Value should be one of: add, remove, replace"},
		{`[{"op": "replace", "path": "name", "value": "n"}]`, `Invalid input for field/attribute path. Value: 'name'. Value should match the pattern ^(/[\w-]+)+$`},
		{`[{"op": "replace", "path": "/extra/a~1b", "value": "n"}]`, `Invalid input for field/attribute path. Value: '/extra/a~1b'. Value should match the pattern ^(/[\w-]+)+$`},
		{`[{"op": "replace", "path": "/uuid", "value": "x"}]`, "'/uuid' is an internal attribute and can not be updated"},
		{`[{"op": "remove", "path": "/status"}]`, "'/status' is an internal attribute and can not be updated"},
		{`[{"op": "replace", "path": "/image_uuid", "value": "` + imageUUID + `"}]`, "'/image_uuid' is an internal attribute and can not be updated"},
		{`[{"op": "add", "path": "/network_info/x", "value": {}}]`, "'/network_info/x' is an internal attribute and can not be updated"},
		{`[{"op": "remove", "path": "/name"}]`, "'/name' is a mandatory attribute and can not be removed"},
		{`[{"op": "add", "path": "/extra/a"}]`, "'add' and 'replace' operations need a value"},
		{`[{"op": "replace", "path": "/name"}]`, "'add' and 'replace' operations need a value"},
		{`[{"op": "add", "path": "/foo", "value": "bar"}]`, "Adding a new attribute (/foo) to the root of the resource is not allowed"},
		// every operation is checked before any is applied
		{`[{"op": "replace", "path": "/name", "value": "x"}, {"op": "add", "path": "/foo", "value": "bar"}]`, "Adding a new attribute (/foo) to the root of the resource is not allowed"},
		{`[{"op": "remove", "path": "/extra/non-existent"}]`, "Couldn't apply patch '[{'path': '/extra/non-existent', 'op': 'remove'}]'. Reason: can't remove a non-existent object 'non-existent'"},
		{`[{"op": "replace", "path": "/extra/zz", "value": "v"}]`, "Couldn't apply patch '[{'path': '/extra/zz', 'op': 'replace', 'value': 'v'}]'. Reason: can't replace a non-existent object 'zz'"},
		{`[{"op": "remove", "path": "/foo"}]`, "Couldn't apply patch '[{'path': '/foo', 'op': 'remove'}]'. Reason: can't remove a non-existent object 'foo'"},
		{`[{"op": "remove", "path": "/extra/q/r"}]`, "Couldn't apply patch '[{'path': '/extra/q/r', 'op': 'remove'}]'. Reason: member 'q' not found in {'a': '1', 'b': '2'}"},
		{`[{"op": "replace", "path": "/name", "value": 5}]`, "Invalid input for field/attribute name. Value: '5'. 5 is not of type 'string'"},
		{`[{"op": "replace", "path": "/name", "value": ""}]`, "Invalid input for field/attribute name. Value: ''. '' is too short"},
		{`[{"op": "replace", "path": "/name", "value": null}]`, "Invalid input for field/attribute name. Value: 'None'. None is not of type 'string'"},
		{`[{"op": "replace", "path": "/description", "value": "` + long + `"}]`, "Invalid input for field/attribute description. Value: '" + long + "'. '" + long + "' is too long"},
		{`[{"op": "add", "path": "/extra/k", "value": 1}]`, "Invalid input for field/attribute extra. Value: '{'a': '1', 'b': '2', 'k': 1}'. 1 is not of type 'string'"},
		{`[{"op": "replace", "path": "/extra", "value": []}]`, "Invalid input for field/attribute extra. Value: '[]'. [] is not of type 'object'"},
	} {
		_, err := ApplyPatch(view(), []byte(c.patch))
		if err == nil {
			t.Errorf("%s: accepted", c.patch)
			continue
		}
		if want := "400 " + c.want; errText(err) != want {
			t.Errorf("%s:\n got %s\nwant %s", c.patch, errText(err), want)
		}
	}
}

// TestApplyPatchLeavesViewAlone: the caller's view (and its Extra map) is not
// changed by a patch, applied or refused.
func TestApplyPatchLeavesViewAlone(t *testing.T) {
	v := view()
	if _, err := ApplyPatch(v, []byte(`[{"op": "remove", "path": "/extra/a"}, {"op": "remove", "path": "/extra/zz"}]`)); err == nil {
		t.Fatal("accepted")
	}
	if _, err := ApplyPatch(v, []byte(`[{"op": "remove", "path": "/extra/a"}]`)); err != nil {
		t.Fatal(errText(err))
	}
	if !reflect.DeepEqual(v, view()) {
		t.Errorf("%+v", v)
	}
}
