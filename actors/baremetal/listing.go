package baremetal

import "strings"

// ListFields are what GET /v1/instances returns without fields (plus links).
var ListFields = []string{"uuid", "name", "description", "status"}

// DetailFields are every field of an instance as detail and show return it,
// in Mogan's order; links is always added.
var DetailFields = []string{
	"uuid", "name", "description", "project_id", "user_id", "status",
	"power_state", "instance_type_uuid", "image_uuid", "availability_zone",
	"network_info", "launched_at", "extra", "created_at", "updated_at",
}

// ParseFields reads a fields query value (list and show only): names split
// on commas, trimmed, lower-cased, de-duplicated, unknown and empty names
// dropped, in the order given; "links" always last. An empty value gives
// only links. The HTTP layer uses ListFields or DetailFields when the
// parameter is absent and refuses it on detail (ErrUnknownArgument).
func ParseFields(raw string) []string {
	var out []string
	for _, f := range strings.Split(raw, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "" && contains(DetailFields, f) && !contains(out, f) {
			out = append(out, f)
		}
	}
	return append(out, "links")
}

// ParseAllTenants reads all_tenants as oslo's strict boolean
// (1/0/true/false/yes/no/on/off/t/f/y/n, any case, trimmed); anything else is
// 400. The flag widens a list only for admins; the caller ignores it for
// others (no 403).
func ParseAllTenants(raw string) (bool, *Error) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, nil
	case "0", "f", "false", "off", "n", "no":
		return false, nil
	}
	return false, ErrInvalidAllTenants(raw)
}
