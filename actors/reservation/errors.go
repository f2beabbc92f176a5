package reservation

import (
	"fmt"
	"strings"
)

// Error is a refusal as Blazar's API answers it: Code is the HTTP status,
// Message the error_message text. The HTTP layer renders it as
// {"error_code": Code, "error_message": Message, "error_name": Code}.
//
// Where Blazar answers 500 for what is the client's mistake (its exception
// class has no code), keel answers the fitting 4xx with Blazar's text; each
// such constructor says so, and docs/blazar-deviations.md lists them.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// DateFormat is Blazar's LEASE_DATE_FORMAT, as its messages name it.
const DateFormat = "%Y-%m-%d %H:%M"

// ErrPolicy is PolicyNotAuthorized (403): "Policy doesn't allow
// blazar:leases:get to be performed". rule is the rule's full name.
func ErrPolicy(rule string) *Error {
	return refuse(403, "Policy doesn't allow %s to be performed", rule)
}

// ErrLeaseNotFound is NotFound (404) for a lease id.
func ErrLeaseNotFound(id string) *Error { return errObjectNotFound("lease_id", id) }

// ErrHostNotFound is NotFound (404) for a host id (os-hosts routes).
func ErrHostNotFound(id string) *Error { return errObjectNotFound("host_id", id) }

// errObjectNotFound is "Object with {'lease_id': '<id>'} not found": Blazar
// formats the dict of the lookup, so the id is a Python string literal.
func errObjectNotFound(key, id string) *Error {
	return refuse(404, "Object with {%s: %s} not found", pyRepr(key), pyRepr(id))
}

// ErrInvalidDate is InvalidDate (400) for a date that is neither `now` nor in
// DateFormat. value is the string as sent.
func ErrInvalidDate(value string) *Error {
	return refuse(400, "%s is an invalid date. Required format: %s", value, DateFormat)
}

// ErrStartInPast refuses a start before the current minute (create, and
// update of a lease that has not started).
func ErrStartInPast() *Error { return refuse(400, "Start date must be later than current date") }

// ErrEndNotAfterStart refuses, on create, an end not later than the start
// (equal is refused too).
func ErrEndNotAfterStart() *Error { return refuse(400, "End date must be later than start date.") }

// ErrEndInPast refuses, on update, an end before the current minute or not
// after the start. Blazar lets end == start through this check; keel does not
// (see ValidateUpdate).
func ErrEndInPast() *Error { return refuse(400, "End date must be later than current and start date") }

// ErrStartOfStartedLease refuses moving the start of a lease that has started.
func ErrStartOfStartedLease() *Error {
	return refuse(400, "Cannot modify the start date of already started leases")
}

// ErrTerminated refuses any change but a rename to a terminated lease.
func ErrTerminated() *Error { return refuse(400, "Terminated leases can only be renamed") }

// ErrOutOfLeaseLimits refuses a before_end_date not strictly inside the
// lease (NotAuthorized, hence 403 in Blazar, kept).
func ErrOutOfLeaseLimits() *Error { return refuse(403, "Datetime is out of lease limits") }

// ErrMissingParameter is MissingParameter (400); several names are joined
// with ", " as Blazar joins its set of missing keys (keel in a fixed order).
func ErrMissingParameter(names ...string) *Error {
	return refuse(400, "Missing parameter %s", strings.Join(names, ", "))
}

// ErrMissingReservationID refuses an update's reservation entry without id.
func ErrMissingReservationID() *Error { return ErrMissingParameter("reservation ID") }

// ErrMalformedParameter is MalformedParameter (400): "Malformed parameter min".
func ErrMalformedParameter(name string) *Error { return refuse(400, "Malformed parameter %s", name) }

// ErrMinMaxBelowOne refuses a min or max below 1.
func ErrMinMaxBelowOne() *Error {
	return ErrMalformedParameter("min and max (must be greater than or equal to 1)")
}

// ErrInvalidRange is InvalidRange (400): max below min.
func ErrInvalidRange() *Error {
	return refuse(400, "Invalid values for min/max of hosts. Max must be equal to or larger than min.")
}

// ErrMalformedRequirements is MalformedRequirements (400). shown is the
// refused value as Python's "%s" shows it: the filter string itself when it is
// not JSON, else str() of the parsed value (a list as its repr).
func ErrMalformedRequirements(shown string) *Error {
	return refuse(400, "Malformed requirements %s", shown)
}

// ErrUnknownCapability refuses a filter on an extra capability no host has
// ever had. Blazar raises BlazarDBNotFound, a 500 that a real deployment
// masks as "BlazarDBNotFound: A database error occurred"; keel answers 400
// with the unmasked text (the one the in-process peer shows), which names the
// key.
func ErrUnknownCapability(name string) *Error {
	return refuse(400, "%s ComputeHostExtraCapability was not found", name)
}

// ErrNotEnoughHosts is NotEnoughHostsAvailable: Blazar's 500, keel's 409 (the
// request conflicts with other leases or the inventory; it is not a fault).
func ErrNotEnoughHosts() *Error { return refuse(409, "Not enough hosts available") }

// ErrUnsupportedResourceType is UnsupportedResourceType: Blazar's 500, keel's
// 400 (a bad value in the request).
func ErrUnsupportedResourceType(resourceType string) *Error {
	return refuse(400, "The %s resource type is not supported", resourceType)
}

// ErrResourceTypeNotServed refuses a resource type Blazar has and keel does
// not serve yet (virtual:instance, virtual:floatingip). keel's own text.
func ErrResourceTypeNotServed(resourceType string) *Error {
	return refuse(400, "The %s resource type is not supported by keel yet; only physical:host is", resourceType)
}

// ErrInvalidStatus is InvalidStatus, "Invalid lease status.", for a lease in
// a transitional status: Blazar's 500, keel's 409 (retry when the lease has
// settled).
func ErrInvalidStatus() *Error { return refuse(409, "Invalid lease status.") }

// ErrInvalidReservationIDs refuses an update naming reservations the lease
// does not have; ids are joined with "," in the order given.
func ErrInvalidReservationIDs(ids []string) *Error {
	return refuse(400, "Please enter valid reservation IDs. Invalid reservation IDs are: %s", strings.Join(ids, ","))
}

// ErrResourceTypeNotUpdatable is CantUpdateParameter (409).
func ErrResourceTypeNotUpdatable() *Error { return refuse(409, "resource_type cannot be updated") }

// ErrHostReserved refuses deleting a host with allocations (CantDeleteHost).
func ErrHostReserved(hostID string) *Error {
	return refuse(409, "Can't delete host %s. The host is reserved.", hostID)
}

// ErrHostProviderExists is what re-adding an enrolled host answers: Placement's
// conflict on the reservation provider (the trailing space is Blazar's).
func ErrHostProviderExists(hypervisorHostname string) *Error {
	return refuse(409, "Conflict on creating resource provider blazar_%s ", hypervisorHostname)
}

// ErrHypervisorNotFound is HostNotFound (404): no Nova hypervisor matches.
func ErrHypervisorNotFound(name string) *Error { return refuse(404, "Host '%s' not found!", name) }

// ErrMultipleHypervisors is MultipleHostsFound (409): the name matches several
// hypervisors (Nova searches by substring).
func ErrMultipleHypervisors(pattern string) *Error {
	return refuse(409, "Multiple Hosts found for pattern '%s'", pattern)
}

// ErrHypervisorHasServers is HostHavingServers (409), on host create and
// delete. servers is the text Blazar interpolates (its list of Nova server
// dicts).
func ErrHypervisorHasServers(servers, host string) *Error {
	return refuse(409, "Servers [%s] found for host %s", servers, host)
}

// ErrInvalidHost is InvalidHost, a NotAuthorized (403): host create without a
// name. values is the body as Python shows it ("{}").
func ErrInvalidHost(values string) *Error { return refuse(403, "Invalid values for host %s", values) }

// ErrCapabilityKeyTooLong refuses an extra capability key over 64 characters.
func ErrCapabilityKeyTooLong() *Error { return refuse(400, "Extra capability key too long") }

// ErrCapabilityInUse is CantAddExtraCapability (409): the keys are used by a
// filter of a current or future reservation on the host. keys is shown as
// Python's list repr.
func ErrCapabilityInUse(keys []string, hostID string) *Error {
	return refuse(409, "Can't add extracapabilities %s to Host %s", pyRepr(keys), hostID)
}

// ErrNoDataToUpdate refuses an empty host update body.
func ErrNoDataToUpdate() *Error { return refuse(400, "No data to update") }

// ErrVersionNotSupported (406) and ErrVersionMalformed (400) answer the
// OpenStack-API-Version header; only reservation 1.0 exists.
func ErrVersionNotSupported(version string) *Error {
	return refuse(406, "Version %s is not supported by the API. Minimum is 1.0 and maximum is 1.0.", version)
}

// ErrVersionMalformed: see ErrVersionNotSupported.
func ErrVersionMalformed(version string) *Error {
	return refuse(400, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", version)
}
