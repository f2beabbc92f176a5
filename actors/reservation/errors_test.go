package reservation

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestErrorCatalogue: every refusal's code and text, as the reference's error
// catalogue has them (keel's codes where it deviates).
func TestErrorCatalogue(t *testing.T) {
	for _, c := range []struct {
		err  *Error
		want string
	}{
		{ErrPolicy("blazar:oshosts:get"), "403 Policy doesn't allow blazar:oshosts:get to be performed"},
		{ErrPolicy("blazar:leases:get"), "403 Policy doesn't allow blazar:leases:get to be performed"},
		{ErrLeaseNotFound("6ee5"), "404 Object with {'lease_id': '6ee5'} not found"},
		{ErrHostNotFound("999"), "404 Object with {'host_id': '999'} not found"},
		{ErrInvalidDate("2026-11-25T05:17"), "400 2026-11-25T05:17 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{ErrStartInPast(), "400 Start date must be later than current date"},
		{ErrEndNotAfterStart(), "400 End date must be later than start date."},
		{ErrEndInPast(), "400 End date must be later than current and start date"},
		{ErrStartOfStartedLease(), "400 Cannot modify the start date of already started leases"},
		{ErrTerminated(), "400 Terminated leases can only be renamed"},
		{ErrOutOfLeaseLimits(), "403 Datetime is out of lease limits"},
		{ErrMissingParameter("name"), "400 Missing parameter name"},
		{ErrMissingParameter("name", "end_date"), "400 Missing parameter name, end_date"},
		{ErrMissingReservationID(), "400 Missing parameter reservation ID"},
		{ErrMalformedParameter("min"), "400 Malformed parameter min"},
		{ErrMinMaxBelowOne(), "400 Malformed parameter min and max (must be greater than or equal to 1)"},
		{ErrInvalidRange(), "400 Invalid values for min/max of hosts. Max must be equal to or larger than min."},
		{ErrMalformedRequirements("['==', '$vcpus', 8]"), "400 Malformed requirements ['==', '$vcpus', 8]"},
		{ErrUnknownCapability("nokey"), "400 nokey ComputeHostExtraCapability was not found"},
		{ErrNotEnoughHosts(), "409 Not enough hosts available"},
		{ErrUnsupportedResourceType("foo:bar"), "400 The foo:bar resource type is not supported"},
		{ErrInvalidStatus(), "409 Invalid lease status."},
		{ErrInvalidReservationIDs([]string{"nope"}), "400 Please enter valid reservation IDs. Invalid reservation IDs are: nope"},
		{ErrInvalidReservationIDs([]string{"a", "b"}), "400 Please enter valid reservation IDs. Invalid reservation IDs are: a,b"},
		{ErrResourceTypeNotUpdatable(), "409 resource_type cannot be updated"},
		{ErrHostReserved("1"), "409 Can't delete host 1. The host is reserved."},
		{ErrHostProviderExists("compute-1"), "409 Conflict on creating resource provider blazar_compute-1 "},
		{ErrHypervisorNotFound("no-such-host"), "404 Host 'no-such-host' not found!"},
		{ErrMultipleHypervisors("compute"), "409 Multiple Hosts found for pattern 'compute'"},
		{ErrHypervisorHasServers("[{'name': 'vm'}]", "busy-1"), "409 Servers [[{'name': 'vm'}]] found for host busy-1"},
		{ErrInvalidHost("{}"), "403 Invalid values for host {}"},
		{ErrCapabilityKeyTooLong(), "400 Extra capability key too long"},
		{ErrCapabilityInUse([]string{"k"}, "1"), "409 Can't add extracapabilities ['k'] to Host 1"},
		{ErrNoDataToUpdate(), "400 No data to update"},
		{ErrVersionNotSupported("1.1"), "406 Version 1.1 is not supported by the API. Minimum is 1.0 and maximum is 1.0."},
		{ErrVersionMalformed("abc"), "400 API Version String abc is of invalid format. Must be of format MajorNum.MinorNum."},
	} {
		if got := errText(c.err); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
	if got := errText(ErrResourceTypeNotServed("virtual:instance")); got[:4] != "400 " {
		t.Errorf("virtual:instance: %s", got)
	}
}

func TestRepr(t *testing.T) {
	for in, want := range map[string]string{
		`["==", "$vcpus", 8]`:          `['==', '$vcpus', 8]`,
		`["a", 1.5, 1e20, true, null]`: `['a', 1.5, 1e+20, True, None]`,
		`{"b": 1, "a": [2.0]}`:         `{'a': [2.0], 'b': 1}`,
		`["it's", "say \"hi\"\n"]`:     `["it's", 'say "hi"\n']`,
		`"plain"`:                      `plain`, // str(), not repr, at the top
	} {
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := pyStr(v); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
