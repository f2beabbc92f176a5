package baremetal

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Network is one entry of a create's networks: the network to plug a port
// into and an optional port type.
type Network struct {
	NetID    string
	PortType string // "" when not sent
}

// CreateRequest is a create body that passed the schema, normalised: uuids
// in canonical lower-case hyphenated form, Extra never nil.
type CreateRequest struct {
	Name             string
	Description      *string // nil: not sent
	InstanceTypeUUID string
	ImageUUID        string  // recorded as given: keel has no Glance to ask
	AvailabilityZone *string // nil: not sent (Mogan's default zone is null)
	Networks         []Network
	Extra            map[string]string
	// Reservation is scheduler_hints.reservation, keel's addition: the Blazar
	// reservation the instance is to land in (Nova's convention). "" if none.
	Reservation string
}

// ExtraKeyPattern is the pattern an extra key must match, as jsonschema
// shows it.
const ExtraKeyPattern = `^[a-zA-Z0-9-_:. ]{1,255}$`

var extraKeyRE = regexp.MustCompile(`^[a-zA-Z0-9\-_:. ]{1,255}$`)

// createProperties is the schema's properties in the order keel checks them.
var createProperties = []string{
	"name", "description", "availability_zone", "image_uuid",
	"instance_type_uuid", "networks", "extra", "scheduler_hints",
}

// createRequired is the schema's required list, in Mogan's order.
var createRequired = []string{"name", "image_uuid", "instance_type_uuid", "networks"}

// ValidateCreate checks a POST /v1/instances body against Mogan's create
// schema (B.3) plus keel's scheduler_hints, and returns it normalised.
// jsonschema reports the first error it meets in dict order (arbitrary in the
// Python of the day); keel checks in a fixed order: the body is an object,
// the required keys (name, image_uuid, instance_type_uuid, networks), unknown
// keys, then each property in createProperties order. Whether the instance
// type exists is the caller's check (ErrInstanceTypeNotFound); the image and
// the networks are recorded as given.
func ValidateCreate(body []byte) (CreateRequest, *Error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return CreateRequest{}, ErrCreateBodyNotJSON()
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return CreateRequest{}, ErrInvalidCreateBody(notOfType(doc, "object"))
	}
	for _, k := range createRequired {
		if _, ok := obj[k]; !ok {
			return CreateRequest{}, ErrInvalidCreateBody(pyStr(k) + " is a required property")
		}
	}
	if msg := additional(obj, createProperties); msg != "" {
		return CreateRequest{}, ErrInvalidCreateBody(msg)
	}
	req := CreateRequest{Extra: map[string]string{}}
	for _, k := range createProperties {
		v, ok := obj[k]
		if !ok {
			continue
		}
		var msg string
		switch k {
		case "name":
			req.Name, msg = text(v)
		case "description":
			var s string
			if s, msg = text(v); msg == "" {
				req.Description = &s
			}
		case "availability_zone":
			var s string
			if s, msg = text(v); msg == "" {
				req.AvailabilityZone = &s
			}
		case "image_uuid":
			req.ImageUUID, msg = uuidValue(v)
		case "instance_type_uuid":
			req.InstanceTypeUUID, msg = uuidValue(v)
		case "networks":
			req.Networks, msg = networks(v)
		case "extra":
			req.Extra, msg = extra(v)
		case "scheduler_hints":
			req.Reservation, msg = hints(v)
		}
		if msg != "" {
			return CreateRequest{}, ErrInvalidCreateBody(msg)
		}
	}
	return req, nil
}

// notOfType is jsonschema's type message.
func notOfType(v any, typ string) string { return pyRepr(v) + " is not of type " + pyStr(typ) }

// text checks {'type': 'string', 'minLength': 1, 'maxLength': 255}; lengths
// count characters, as Python's len does.
func text(v any) (string, string) {
	s, ok := v.(string)
	if !ok {
		return "", notOfType(v, "string")
	}
	if s == "" {
		return "", pyStr(s) + " is too short"
	}
	if utf8.RuneCountInString(s) > 255 {
		return "", pyStr(s) + " is too long"
	}
	return s, ""
}

// uuidValue checks {'type': 'string', 'format': 'uuid'} with oslo's
// is_uuid_like (hyphens, braces, "urn:uuid:" and case are forgiven) and
// returns the canonical form.
func uuidValue(v any) (string, string) {
	s, ok := v.(string)
	if !ok {
		return "", notOfType(v, "string")
	}
	u, ok := canonicalUUID(s)
	if !ok {
		return "", pyStr(s) + " is not a 'uuid'"
	}
	return u, ""
}

func canonicalUUID(s string) (string, bool) {
	h := strings.ToLower(s)
	h = strings.TrimPrefix(h, "urn:")
	h = strings.TrimPrefix(h, "uuid:")
	h = strings.TrimPrefix(h, "{")
	h = strings.TrimSuffix(h, "}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return "", false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}

// additional is jsonschema's additionalProperties message for the keys of
// obj not in allowed, "" if none. Extras are sorted.
func additional(obj map[string]any, allowed []string) string {
	var extras []string
	for k := range obj {
		if !contains(allowed, k) {
			extras = append(extras, k)
		}
	}
	if len(extras) == 0 {
		return ""
	}
	sort.Strings(extras)
	verb := "was"
	if len(extras) > 1 {
		verb = "were"
	}
	quoted := make([]string, len(extras))
	for i, k := range extras {
		quoted[i] = pyStr(k)
	}
	return "Additional properties are not allowed (" + strings.Join(quoted, ", ") + " " + verb + " unexpected)"
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// networks checks {'type': 'array', 'minItems': 1, 'items': {net_id (uuid,
// required), port_type (string 1–255), nothing else}}.
func networks(v any) ([]Network, string) {
	list, ok := v.([]any)
	if !ok {
		return nil, notOfType(v, "array")
	}
	if len(list) == 0 {
		return nil, "[] is too short"
	}
	out := make([]Network, 0, len(list))
	for _, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, notOfType(item, "object")
		}
		if _, ok := obj["net_id"]; !ok {
			return nil, "'net_id' is a required property"
		}
		if msg := additional(obj, []string{"net_id", "port_type"}); msg != "" {
			return nil, msg
		}
		var n Network
		var msg string
		if n.NetID, msg = uuidValue(obj["net_id"]); msg != "" {
			return nil, msg
		}
		if pt, ok := obj["port_type"]; ok {
			if n.PortType, msg = text(pt); msg != "" {
				return nil, msg
			}
		}
		out = append(out, n)
	}
	return out, ""
}

// extra checks B.1's extra: an object whose keys match ExtraKeyPattern and
// whose values are strings of at most 255 characters.
func extra(v any) (map[string]string, string) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, notOfType(v, "object")
	}
	var bad []string
	for k := range obj {
		if !extraKeyRE.MatchString(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		quoted := make([]string, len(bad))
		for i, k := range bad {
			quoted[i] = pyStr(k)
		}
		verb := "does"
		if len(bad) > 1 {
			verb = "do"
		}
		return nil, strings.Join(quoted, ", ") + " " + verb + " not match any of the regexes: " + pyStr(ExtraKeyPattern)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(obj))
	for _, k := range keys {
		s, ok := obj[k].(string)
		if !ok {
			return nil, notOfType(obj[k], "string")
		}
		if utf8.RuneCountInString(s) > 255 {
			return nil, pyStr(s) + " is too long"
		}
		out[k] = s
	}
	return out, ""
}

// hints checks keel's scheduler_hints: an object with at most a reservation
// uuid. Other hints are refused, not ignored, so a client relying on a Nova
// hint keel does not implement learns it.
func hints(v any) (string, string) {
	obj, ok := v.(map[string]any)
	if !ok {
		return "", notOfType(v, "object")
	}
	if msg := additional(obj, []string{"reservation"}); msg != "" {
		return "", msg
	}
	r, ok := obj["reservation"]
	if !ok {
		return "", ""
	}
	return uuidValue(r)
}
