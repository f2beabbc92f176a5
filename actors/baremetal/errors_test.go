package baremetal

import (
	"encoding/json"
	"fmt"
	"testing"
)

func errText(e *Error) string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// TestErrorCatalogue: every refusal's code and text.
func TestErrorCatalogue(t *testing.T) {
	for _, c := range []struct {
		err  *Error
		want string
	}{
		{ErrPolicy("mogan:instance:get"), "403 Access was denied to the following resource: mogan:instance:get"},
		{ErrInstanceNotFound(), "404 Resource could not be found."},
		{ErrInvalidCreateBody("'name' is a required property"), "400 Invalid create body: 'name' is a required property"},
		{ErrCreateBodyNotJSON(), "400 Invalid create body: the request body is not valid JSON"},
		{ErrInstanceTypeNotFound("0607b5f3-6111-424d-ba46-f5de39a6fa69"), "400 InstanceType 0607b5f3-6111-424d-ba46-f5de39a6fa69 could not be found"},
		{ErrAvailabilityZoneUnavailable(), "400 The requested availability zone is not available"},
		{ErrUnknownArgument("fields"), `400 Unknown argument: "fields"`},
		{ErrInvalidAllTenants("maybe"), "400 Invalid input for field/attribute all_tenants. Value: 'maybe'. Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"},
		{ErrPatchOp("move"), "400 Invalid input for field/attribute op. Value: 'move'. Value should be one of: add, remove, replace"},
		{ErrPatchPath("name"), `400 Invalid input for field/attribute path. Value: 'name'. Value should match the pattern ^(/[\w-]+)+$`},
		{ErrPatchNeedsValue(), "400 'add' and 'replace' operations need a value"},
		{ErrInternalAttribute("/uuid"), "400 '/uuid' is an internal attribute and can not be updated"},
		{ErrMandatoryAttribute("/name"), "400 '/name' is a mandatory attribute and can not be removed"},
		{ErrAddRootAttribute("/foo"), "400 Adding a new attribute (/foo) to the root of the resource is not allowed"},
		{ErrPatchFailed("[{'path': '/extra/a', 'op': 'remove'}]", "can't remove a non-existent object 'a'"), "400 Couldn't apply patch '[{'path': '/extra/a', 'op': 'remove'}]'. Reason: can't remove a non-existent object 'a'"},
		{ErrInvalidPowerTarget(), "400 Unacceptable parameters."},
		{ErrPowerInProgress("u1"), "409 Instance u1 has a power action in progress, please retry after the current operation is completed."},
		{ErrInvalidTransition("stopped", "stop"), "400 Can not transition from state 'stopped' on event 'stop' (no defined transition)"},
	} {
		if got := errText(c.err); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

// TestBody: the fault is a JSON document inside a JSON string, written as
// Python's json.dumps writes it.
func TestBody(t *testing.T) {
	got := string(Body(ErrInstanceNotFound()))
	want := `{"error_message": "{\"faultcode\": \"Client\", \"faultstring\": \"Resource could not be found.\", \"debuginfo\": null}"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, e := range []*Error{
		ErrPatchFailed("[{'path': '/extra/é', 'op': 'remove'}]", `"<&>" 🙂`),
		{Code: 500, Message: "boom\n"},
	} {
		var outer struct {
			ErrorMessage string `json:"error_message"`
		}
		if err := json.Unmarshal(Body(e), &outer); err != nil {
			t.Fatal(err)
		}
		var inner struct {
			Faultcode, Faultstring string
			Debuginfo              *string
		}
		if err := json.Unmarshal([]byte(outer.ErrorMessage), &inner); err != nil {
			t.Fatal(err)
		}
		if inner.Faultstring != e.Message || inner.Faultcode != e.Faultcode() || inner.Debuginfo != nil {
			t.Errorf("%+v", inner)
		}
	}
	if ErrPolicy("x").Faultcode() != "Client" || (&Error{Code: 500}).Faultcode() != "Server" {
		t.Error("faultcode")
	}
	if got := pyJSONString("é🙂<&>"); got != `"\u00e9\ud83d\ude42<&>"` {
		t.Errorf("pyJSONString: %s", got)
	}
}

func TestPyRepr(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, "None"}, {true, "True"}, {json.Number("5"), "5"}, {"a", "'a'"},
		{"it's", `"it's"`}, {`it's "x"`, `'it\'s "x"'`}, {"a\nb", `'a\nb'`},
		{[]any{}, "[]"}, {map[string]any{"b": json.Number("1"), "a": []any{"x"}}, "{'a': ['x'], 'b': 1}"},
	} {
		if got := pyRepr(c.v); got != c.want {
			t.Errorf("%v: %s, want %s", c.v, got, c.want)
		}
	}
}
