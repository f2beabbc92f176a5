package reservation

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// The host inventory's request bodies (POST and PUT /v1/os-hosts). keel has no
// Nova: the computehost columns Blazar copies from Nova's hypervisor come from
// the create body (HostColumnDefaults otherwise), and the host's BMC, which
// keel's bare-metal API uses, comes from bmc_* keys that never become extra
// capabilities (so `openstack reservation host create --extra bmc_address=…`
// works). Every other key is an extra capability, stored as text.

// HostSpec is a validated host create: the columns, the extra capabilities and
// the BMC.
type HostSpec struct {
	Name                                                           string
	HypervisorHostname, ServiceName, HypervisorType, CPUInfo, Zone string
	HypervisorVersion, VCPUs, MemoryMB, LocalGB                    int64
	Capabilities                                                   map[string]string
	BMC                                                            BMCSpec
}

// BMCSpec is a host's baseboard management controller as the body gives it.
// Set records which keys were sent (an update changes only those).
type BMCSpec struct {
	Address, Username, Password, PowerDriver string
	Port                                     int32
	Set                                      map[string]bool
}

// BMC keys: taken out of a host body into the host's BMC.
const (
	KeyBMCAddress  = "bmc_address"
	KeyBMCPort     = "bmc_port"
	KeyBMCUsername = "bmc_username"
	KeyBMCPassword = "bmc_password"
	KeyPowerDriver = "power_driver"
)

// Power drivers: ipmi reaches a real BMC; fake only records power states.
const (
	PowerDriverIPMI = "ipmi"
	PowerDriverFake = "fake"
)

var bmcKeys = []string{KeyBMCAddress, KeyBMCPort, KeyBMCUsername, KeyBMCPassword, KeyPowerDriver}

// IsBMCKey reports whether a host body key describes the BMC.
func IsBMCKey(key string) bool { return slices.Contains(bmcKeys, key) }

// hostTextColumns and hostIntColumns are the computehost columns a create body
// may set (Blazar takes them from Nova's hypervisor details).
var (
	hostTextColumns = []string{"hypervisor_hostname", "service_name", "hypervisor_type", "cpu_info", "availability_zone"}
	hostIntColumns  = []string{"hypervisor_version", "vcpus", "memory_mb", "local_gb"}
)

// maxCapabilityKey is Blazar's limit on an extra capability's name.
const maxCapabilityKey = 64

// ParseHostCreate reads POST /v1/os-hosts's JSON object, refusing in Blazar's
// order: no name (403 Invalid values for host {…}; "id" is accepted instead of
// "name", as Blazar does); a capability key over 64 characters (400); then
// keel's own checks of values Blazar cannot store (a 500 there): a column that
// is not of its type, a capability that is an object, a list or null, a BMC
// key of the wrong type or an unknown power_driver — each "Malformed parameter
// <key>" (400). Defaults: hypervisor_hostname and service_name the name,
// hypervisor_type "baremetal", numbers 0, texts "". power_driver defaults to
// ipmi when a bmc_address is given, else fake.
func ParseHostCreate(body []byte) (HostSpec, error) {
	fields, err := decodeObject(body)
	if err != nil {
		return HostSpec{}, ErrInvalidHost("{}")
	}
	name, ok := jsonString(fields["name"])
	if !ok || name == "" {
		if id, ok := jsonString(fields["id"]); ok && id != "" {
			name = id
		}
	}
	if name == "" {
		return HostSpec{}, ErrInvalidHost(showObject(body))
	}
	spec := HostSpec{Name: name, HypervisorHostname: name, ServiceName: name, HypervisorType: "baremetal",
		Capabilities: map[string]string{}}
	if err := checkKeyLengths(fields); err != nil {
		return HostSpec{}, err
	}
	for _, k := range sortedKeys(fields) {
		raw := fields[k]
		switch {
		case k == "name" || k == "id":
		case slices.Contains(hostTextColumns, k):
			s, ok := jsonString(raw)
			if !ok {
				return HostSpec{}, ErrMalformedParameter(k)
			}
			switch k {
			case "hypervisor_hostname":
				spec.HypervisorHostname = s
			case "service_name":
				spec.ServiceName = s
			case "hypervisor_type":
				spec.HypervisorType = s
			case "cpu_info":
				spec.CPUInfo = s
			case "availability_zone":
				spec.Zone = s
			}
		case slices.Contains(hostIntColumns, k):
			n, ok := intOrIntString(raw)
			if !ok || n < 0 {
				return HostSpec{}, ErrMalformedParameter(k)
			}
			switch k {
			case "hypervisor_version":
				spec.HypervisorVersion = n
			case "vcpus":
				spec.VCPUs = n
			case "memory_mb":
				spec.MemoryMB = n
			case "local_gb":
				spec.LocalGB = n
			}
		case IsBMCKey(k):
			if err := spec.BMC.set(k, raw); err != nil {
				return HostSpec{}, err
			}
		default:
			v, err := CapabilityText(k, raw)
			if err != nil {
				return HostSpec{}, err
			}
			spec.Capabilities[k] = v
		}
	}
	if !spec.BMC.Set[KeyPowerDriver] {
		spec.BMC.PowerDriver = PowerDriverFake
		if spec.BMC.Address != "" {
			spec.BMC.PowerDriver = PowerDriverIPMI
		}
	}
	return spec, nil
}

// HostUpdate is a validated PUT /v1/os-hosts/{id}: capabilities to add or
// change, and the BMC keys sent.
type HostUpdate struct {
	Capabilities map[string]string
	BMC          BMCSpec
}

// ParseHostUpdate reads PUT /v1/os-hosts/{id}'s flat object: {} is 400 "No
// data to update"; a key over 64 characters 400; values as on create. Every
// key that is not a BMC key is an extra capability (a column's name too: it
// shadows the column in the view, as in Blazar).
func ParseHostUpdate(body []byte) (HostUpdate, error) {
	fields, err := decodeObject(body)
	if err != nil {
		return HostUpdate{}, ErrMalformedParameter("body")
	}
	if len(fields) == 0 {
		return HostUpdate{}, ErrNoDataToUpdate()
	}
	if err := checkKeyLengths(fields); err != nil {
		return HostUpdate{}, err
	}
	u := HostUpdate{Capabilities: map[string]string{}}
	for _, k := range sortedKeys(fields) {
		if IsBMCKey(k) {
			if err := u.BMC.set(k, fields[k]); err != nil {
				return HostUpdate{}, err
			}
			continue
		}
		v, err := CapabilityText(k, fields[k])
		if err != nil {
			return HostUpdate{}, err
		}
		u.Capabilities[k] = v
	}
	return u, nil
}

// CapabilityText is an extra capability's value as Blazar stores it in its
// text column: a string as it is, a number as Python prints it (4, 4.5), true
// and false as "1" and "0" (SQL booleans). An object, a list or null cannot be
// stored (Blazar: a 500): "Malformed parameter <key>" (400).
func CapabilityText(key string, raw json.RawMessage) (string, error) {
	v, err := decodeJSON(string(raw))
	if err != nil {
		return "", ErrMalformedParameter(key)
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return pyRepr(x), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	}
	return "", ErrMalformedParameter(key)
}

func (b *BMCSpec) set(key string, raw json.RawMessage) error {
	if b.Set == nil {
		b.Set = map[string]bool{}
	}
	b.Set[key] = true
	if key == KeyBMCPort {
		n, ok := intOrIntString(raw)
		if !ok || n < 0 || n > 65535 {
			return ErrMalformedParameter(key)
		}
		b.Port = int32(n)
		return nil
	}
	s, ok := jsonString(raw)
	if !ok {
		return ErrMalformedParameter(key)
	}
	switch key {
	case KeyBMCAddress:
		b.Address = s
	case KeyBMCUsername:
		b.Username = s
	case KeyBMCPassword:
		b.Password = s
	case KeyPowerDriver:
		if s != PowerDriverIPMI && s != PowerDriverFake {
			return ErrMalformedParameter(key)
		}
		b.PowerDriver = s
	}
	return nil
}

// CapabilitiesInUse lists, sorted, the keys that a resource_properties filter
// names among filters (each a reservation's resource_properties as stored): a
// host holding those reservations cannot change them (ErrCapabilityInUse).
func CapabilitiesInUse(keys []string, filters []string) []string {
	used := map[string]bool{}
	for _, f := range filters {
		rs, err := ParseRequirements(f)
		if err != nil {
			continue
		}
		for _, r := range rs {
			used[r.Key] = true
		}
	}
	var out []string
	for _, k := range keys {
		if used[k] && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func checkKeyLengths(fields map[string]json.RawMessage) error {
	for k := range fields {
		if len([]rune(k)) > maxCapabilityKey {
			return ErrCapabilityKeyTooLong()
		}
	}
	return nil
}

func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, nil
}

// showObject is a body as Python prints the dict (Blazar's InvalidHost text).
func showObject(body []byte) string {
	v, err := decodeJSON(string(bytes.TrimSpace(body)))
	if err != nil {
		return "{}"
	}
	return pyRepr(v)
}

// intOrIntString reads a JSON integer, or a string holding one (the CLI's
// --extra sends every value as a string).
func intOrIntString(raw json.RawMessage) (int64, bool) {
	if s, ok := jsonString(raw); ok {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	n, ok := jsonInt(raw)
	return int64(n), ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ParsePropertyUpdate reads PATCH /v1/os-hosts/properties/{name}'s body,
// {"private": <bool>}: the key missing is "Missing parameter private", a
// value that is not a boolean "Malformed parameter private" (400 both).
func ParsePropertyUpdate(body []byte) (bool, error) {
	fields, err := decodeObject(body)
	if err != nil || absent(fields["private"]) {
		return false, ErrMissingParameter("private")
	}
	switch string(bytes.TrimSpace(fields["private"])) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, ErrMalformedParameter("private")
}

// ErrPropertyNotFound refuses a change to a resource property no host ever
// had: keel's 404 in Blazar's shape (Blazar: a 500,
// BlazarDBInvalidResourceProperty).
func ErrPropertyNotFound(name string) *Error { return errObjectNotFound("property_name", name) }
