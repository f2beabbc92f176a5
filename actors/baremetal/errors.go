package baremetal

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a refusal as Mogan's API answers it: Code is the HTTP status,
// Message the faultstring. Body renders it the way Mogan's (Ironic's)
// parsable-error middleware does.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Faultcode is WSME's: "Client" for a 4xx, "Server" otherwise.
func (e *Error) Faultcode() string {
	if e.Code >= 400 && e.Code < 500 {
		return "Client"
	}
	return "Server"
}

func refuse(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Body is the error document Mogan sends: {"error_message": "<JSON text>"},
// where the string holds WSME's fault, {"faultcode": …, "faultstring": …,
// "debuginfo": null}, as Python's json.dumps writes it (", " and ": "
// separators, non-ASCII as \u escapes). The outer document is written the same
// way, so the bytes are Mogan's.
func Body(e *Error) []byte {
	inner := `{"faultcode": ` + pyJSONString(e.Faultcode()) +
		`, "faultstring": ` + pyJSONString(e.Message) + `, "debuginfo": null}`
	return []byte(`{"error_message": ` + pyJSONString(inner) + `}`)
}

// pyJSONString is s as a JSON string the way Python's json.dumps (with
// ensure_ascii) writes it: only ", \ and control characters escaped, every
// non-ASCII rune as \uXXXX (a surrogate pair above the BMP). Go's encoder would
// also escape <, > and &, which Python does not.
func pyJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r == utf8.RuneError:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ErrPolicy is HTTPForbidden (403): "Access was denied to the following
// resource: mogan:instance:get". rule is the rule's full name.
func ErrPolicy(rule string) *Error {
	return refuse(403, "Access was denied to the following resource: %s", rule)
}

// ErrInstanceNotFound is InstanceNotFound (404). Mogan's exception sets
// msg_fmt instead of _msg_fmt, so the text is NotFound's generic one and names
// no instance; keel keeps it. Also the answer for a deleted instance and for
// an {uuid} that is not a uuid.
func ErrInstanceNotFound() *Error { return refuse(404, "Resource could not be found.") }

// ErrInvalidCreateBody is InvalidParameterValue (400) for a create body the
// JSON schema refuses; detail is jsonschema's message ("'name' is a required
// property"). Mogan appends jsonschema's whole report (the schema and the
// instance); keel sends the message alone.
func ErrInvalidCreateBody(detail string) *Error {
	return refuse(400, "Invalid create body: %s", detail)
}

// ErrCreateBodyNotJSON refuses a create body that is not JSON at all. keel's
// text (WSME fails earlier with its own).
func ErrCreateBodyNotJSON() *Error {
	return ErrInvalidCreateBody("the request body is not valid JSON")
}

// ErrInstanceTypeNotFound refuses a create naming an unknown instance type
// (400, Mogan's ClientSideError; no trailing period).
func ErrInstanceTypeNotFound(uuid string) *Error {
	return refuse(400, "InstanceType %s could not be found", uuid)
}

// ErrAvailabilityZoneUnavailable refuses a create whose availability_zone no
// node has.
func ErrAvailabilityZoneUnavailable() *Error {
	return refuse(400, "The requested availability zone is not available")
}

// ErrUnknownArgument is WSME's UnknownArgument (400) for a query parameter
// the route does not take (fields on /detail, anything unknown).
func ErrUnknownArgument(name string) *Error {
	return refuse(400, "Unknown argument: \"%s\"", name)
}

// ErrInvalidInput is WSME's InvalidInput (400): a query or body attribute
// whose value the declared type refuses. value is shown as sent.
func ErrInvalidInput(field, value, reason string) *Error {
	return refuse(400, "Invalid input for field/attribute %s. Value: '%s'. %s", field, value, reason)
}

// boolValues is oslo's strict boolean vocabulary, as its error lists it.
const boolValues = "'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"

// ErrInvalidAllTenants refuses an all_tenants that is not a strict boolean:
// oslo's ValueError inside WSME's InvalidInput.
func ErrInvalidAllTenants(value string) *Error {
	return ErrInvalidInput("all_tenants", value,
		fmt.Sprintf("Unrecognized value '%s', acceptable values are: %s", value, boolValues))
}

// ErrPatchBody refuses a PATCH body that is not a JSON array of objects.
// keel's text in WSME's form.
func ErrPatchBody() *Error {
	return ErrInvalidInput("patch", "", "Value should be a list of JSON patch operations")
}

// ErrPatchOp refuses an op other than add, replace, remove (WSME's Enum;
// keel lists the values sorted, Python in set order).
func ErrPatchOp(op string) *Error {
	return ErrInvalidInput("op", op, "Value should be one of: add, remove, replace")
}

// PatchPathPattern is the pattern a patch path must match, as WSME shows it.
const PatchPathPattern = `^(/[\w-]+)+$`

// ErrPatchPath refuses a path that does not match PatchPathPattern.
func ErrPatchPath(path string) *Error {
	return ErrInvalidInput("path", path, "Value should match the pattern "+PatchPathPattern)
}

// ErrPatchNeedsValue refuses an add or replace without a value.
func ErrPatchNeedsValue() *Error { return refuse(400, "'add' and 'replace' operations need a value") }

// ErrInternalAttribute refuses a patch whose first path segment is an
// internal attribute; path is the whole path sent.
func ErrInternalAttribute(path string) *Error {
	return refuse(400, "'%s' is an internal attribute and can not be updated", path)
}

// ErrMandatoryAttribute refuses removing /name.
func ErrMandatoryAttribute(path string) *Error {
	return refuse(400, "'%s' is a mandatory attribute and can not be removed", path)
}

// ErrAddRootAttribute refuses an add of a top-level member the instance does
// not have.
func ErrAddRootAttribute(path string) *Error {
	return refuse(400, "Adding a new attribute (%s) to the root of the resource is not allowed", path)
}

// ErrPatchFailed is PatchError (400): the patch could not be applied. patch
// is the patch as Python shows its list of dicts, reason python-jsonpatch's
// text where keel knows it (a missing member), else the library's.
func ErrPatchFailed(patch, reason string) *Error {
	return refuse(400, "Couldn't apply patch '%s'. Reason: %s", patch, reason)
}

// ErrPatchedInvalid refuses a patched instance that is no longer valid
// (name not a string of 1–255 characters, …). Mogan re-checks only the WSME
// types (and a too long name fails in the database, a 500); keel re-applies
// the create schema's rules and answers in WSME's InvalidInput form with
// jsonschema's message.
func ErrPatchedInvalid(field, value, detail string) *Error {
	return ErrInvalidInput(field, value, detail)
}

// ErrInvalidPowerTarget refuses a power target other than on, off, reboot,
// soft_off, soft_reboot. InvalidActionParameterValue sets msg_fmt instead of
// _msg_fmt, so the text is Invalid's generic one; keel keeps it.
func ErrInvalidPowerTarget() *Error { return refuse(400, "Unacceptable parameters.") }

// ErrPowerInProgress refuses a power action while another one runs
// (target_power_state not null). Ironic's contract (409, NodeLocked); the text
// is keel's, after Ironic's.
func ErrPowerInProgress(uuid string) *Error {
	return refuse(409, "Instance %s has a power action in progress, please retry after the current operation is completed.", uuid)
}

// ErrInvalidTransition is InvalidState (400) with automaton's text: the
// status has no transition on the event ("Can not transition from state
// 'stopped' on event 'stop' (no defined transition)").
func ErrInvalidTransition(status, event string) *Error {
	return refuse(400, "Can not transition from state '%s' on event '%s' (no defined transition)", status, event)
}
