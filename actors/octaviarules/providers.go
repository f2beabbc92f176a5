package octaviarules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"keel/actors/python"
)

// Provider is an enabled provider driver, as GET /providers lists it.
type Provider struct {
	Name        string
	Description string
}

// Providers are Octavia's default [api_settings] enabled_provider_drivers, in its
// order: the providers a load balancer or a profile may name. "octavia" is an
// alias of "amphora": both drive amphorae and accept the same flavor and
// availability zone data.
var Providers = []Provider{
	{"amphora", "The Octavia Amphora driver."},
	{"octavia", "Deprecated alias of the Octavia Amphora driver."},
}

// DefaultProvider is the driver Octavia loads when none is named.
const DefaultProvider = "amphora"

// ProviderEnabled reports whether name is one of Providers.
func ProviderEnabled(name string) bool {
	return slices.ContainsFunc(Providers, func(p Provider) bool { return p.Name == name })
}

// CheckProviderEnabled refuses a provider that is not enabled, in Octavia's words.
func CheckProviderEnabled(name string) error {
	if !ProviderEnabled(name) {
		return invalidf("Provider '%s' is not enabled.", name)
	}
	return nil
}

// Unsupported is a provider's refusal of what it was asked for: Octavia answers
// it with 501 and the message as it is.
type Unsupported string

func (e Unsupported) Error() string { return string(e) }

// ProviderOption is one key a provider accepts in a profile's flavor_data or
// availability_zone_data: the amphora driver's JSON schema, property by property.
type ProviderOption struct {
	Name        string
	Description string
	JSONType    string   // the schema type: "string", "boolean", "array"
	Enum        []string // the allowed values, when the schema limits them
}

// FlavorOptions is the amphora driver's flavor metadata (octavia/api/drivers/
// amphora_driver/flavor_schema.py), in schema order. sriov_vip came after
// Octavia 11 (2023.1).
var FlavorOptions = []ProviderOption{
	{Name: "loadbalancer_topology", JSONType: "string", Enum: []string{"ACTIVE_STANDBY", "SINGLE"},
		Description: "The load balancer topology. One of: SINGLE - One amphora per load balancer. " +
			"ACTIVE_STANDBY - Two amphora per load balancer."},
	{Name: "compute_flavor", JSONType: "string", Description: "The compute driver flavor ID."},
	{Name: "amp_image_tag", JSONType: "string", Description: "The amphora image tag."},
	{Name: "sriov_vip", JSONType: "boolean", Description: "When true, the VIP port will be created using an SR-IOV VF port."},
}

// ZoneOptions is the amphora driver's availability zone metadata
// (availability_zone_schema.py).
var ZoneOptions = []ProviderOption{
	{Name: "compute_zone", JSONType: "string", Description: "The compute availability zone."},
	{Name: "management_network", JSONType: "string", Description: "The management network ID for the amphora."},
	{Name: "valid_vip_networks", JSONType: "array", Description: "List of network IDs that are allowed for VIP use. " +
		"This overrides/replaces the list of allowed networks configured in `octavia.conf`."},
}

// ProviderData is a profile's data: a JSON object whose keys a provider knows.
type ProviderData struct {
	keys   []string       // in the order the JSON gives them (first occurrence)
	Values map[string]any // decoded with json.Number for numbers
}

// Keys and Value make it a python.Dict (messages show it as Python's repr).
func (d *ProviderData) Keys() []string       { return d.keys }
func (d *ProviderData) Value(key string) any { return d.Values[key] }

// ValidateProviderData checks a profile's flavor_data or availability_zone_data
// (option is the attribute's name) as Octavia does: the string must be JSON
// (Invalid "<data> is not a valid option for <option>"), the provider must be
// enabled, and the provider's schema must accept it (Unsupported, with
// jsonschema's message).
func ValidateProviderData(provider, option, raw string, options []ProviderOption) (*ProviderData, error) {
	v, err := ParseOrderedJSON(raw)
	if err != nil {
		return nil, invalidf("%s is not a valid option for %s", raw, option)
	}
	if err := CheckProviderEnabled(provider); err != nil {
		return nil, err
	}
	if detail := schemaViolation(v, options); detail != "" {
		return nil, Unsupported(fmt.Sprintf("Provider '%s' does not support a requested option: %s", provider, detail))
	}
	return v.(*ProviderData), nil
}

// schemaViolation returns the message jsonschema's best match gives for data that
// breaks the schema (an object with additionalProperties false and typed
// properties), or "". Errors at the top level (type, unknown keys) come first;
// then the properties in schema order, each type before enum.
func schemaViolation(v any, options []ProviderOption) string {
	obj, ok := v.(*ProviderData)
	if !ok {
		return python.Repr(v) + " is not of type 'object'"
	}
	known := map[string]bool{}
	for _, o := range options {
		known[o.Name] = true
	}
	var extras []string
	for _, k := range obj.keys {
		if !known[k] {
			extras = append(extras, python.Repr(k))
		}
	}
	if len(extras) > 0 {
		verb := "was"
		if len(extras) > 1 {
			verb = "were"
		}
		return fmt.Sprintf("Additional properties are not allowed (%s %s unexpected)", strings.Join(extras, ", "), verb)
	}
	for _, o := range options {
		val, present := obj.Values[o.Name]
		if !present {
			continue
		}
		if !hasJSONType(val, o.JSONType) {
			return fmt.Sprintf("%s %s is not of type '%s'", o.Name, python.Repr(val), o.JSONType)
		}
		if len(o.Enum) > 0 {
			s, _ := val.(string)
			if !slices.Contains(o.Enum, s) {
				quoted := make([]string, len(o.Enum))
				for i, e := range o.Enum {
					quoted[i] = python.Repr(e)
				}
				return fmt.Sprintf("%s %s is not one of [%s]", o.Name, python.Repr(val), strings.Join(quoted, ", "))
			}
		}
	}
	return ""
}

func hasJSONType(v any, t string) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	}
	return false
}

// ParseOrderedJSON decodes one JSON value; objects (*ProviderData) keep their
// keys' order (a repeated key keeps its first position and its last value, as
// Python's json does).
func ParseOrderedJSON(raw string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return nil, err
	}
	if rest := raw[dec.InputOffset():]; strings.TrimSpace(rest) != "" {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &ProviderData{Values: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				val, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				if _, seen := obj.Values[k]; !seen {
					obj.keys = append(obj.keys, k)
				}
				obj.Values[k] = val
			}
			_, err := dec.Token() // '}'
			return obj, err
		case '[':
			list := []any{}
			for dec.More() {
				val, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, val)
			}
			_, err := dec.Token() // ']'
			return list, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil // string, json.Number, bool, nil
	}
}
