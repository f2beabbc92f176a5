package http

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/actors/python"
)

// provider is an enabled provider driver as GET /providers lists it.
type provider struct {
	name        string
	description string
}

// providers are Octavia's default [api_settings] enabled_provider_drivers, in its
// order; the same set as enabledProviders. "octavia" is an alias of "amphora":
// both drive amphorae and accept the same flavor and availability zone data.
var providers = []provider{
	{"amphora", "The Octavia Amphora driver."},
	{"octavia", "Deprecated alias of the Octavia Amphora driver."},
}

// providerOption is one key a provider accepts in a profile's flavor_data or
// availability_zone_data: the amphora driver's JSON schema, property by property.
type providerOption struct {
	name        string
	description string
	jsonType    string   // the schema type: "string", "boolean", "array"
	enum        []string // the allowed values, when the schema limits them
}

// The amphora driver's flavor metadata (octavia/api/drivers/amphora_driver/
// flavor_schema.py), in schema order. sriov_vip came after Octavia 11 (2023.1).
var amphoraFlavorOptions = []providerOption{
	{name: "loadbalancer_topology", jsonType: "string", enum: []string{"ACTIVE_STANDBY", "SINGLE"},
		description: "The load balancer topology. One of: SINGLE - One amphora per load balancer. " +
			"ACTIVE_STANDBY - Two amphora per load balancer."},
	{name: "compute_flavor", jsonType: "string", description: "The compute driver flavor ID."},
	{name: "amp_image_tag", jsonType: "string", description: "The amphora image tag."},
	{name: "sriov_vip", jsonType: "boolean", description: "When true, the VIP port will be created using an SR-IOV VF port."},
}

// The amphora driver's availability zone metadata (availability_zone_schema.py).
var amphoraZoneOptions = []providerOption{
	{name: "compute_zone", jsonType: "string", description: "The compute availability zone."},
	{name: "management_network", jsonType: "string", description: "The management network ID for the amphora."},
	{name: "valid_vip_networks", jsonType: "array", description: "List of network IDs that are allowed for VIP use. " +
		"This overrides/replaces the list of allowed networks configured in `octavia.conf`."},
}

func (s *Server) providerRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/providers", s.wrap(s.listProviders))
	r.GET(prefix+"/providers/{provider}/flavor_capabilities", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return writeCapabilities(ctx, "flavor_capabilities", amphoraFlavorOptions)
	}))
	r.GET(prefix+"/providers/{provider}/availability_zone_capabilities", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return writeCapabilities(ctx, "availability_zone_capabilities", amphoraZoneOptions)
	}))
}

// listProviders answers GET /providers (any role may read it; fields applies).
func (s *Server) listProviders(ctx *fasthttp.RequestCtx) error {
	items := make([][2]string, len(providers))
	for i, p := range providers {
		items[i] = [2]string{p.name, p.description}
	}
	writeNamedList(ctx, "providers", items)
	return nil
}

// writeCapabilities answers a provider's flavor or availability zone
// capabilities: administrators only, the provider must be enabled, and the
// name and description parameters filter exactly (other parameters are ignored,
// as Octavia ignores them).
func writeCapabilities(ctx *fasthttp.RequestCtx, root string, options []providerOption) error {
	if !callerOf(ctx).Admin {
		return forbidden()
	}
	if err := checkProviderEnabled(pathParam(ctx, "provider")); err != nil {
		return err
	}
	args := ctx.QueryArgs()
	name, description := string(args.Peek("name")), string(args.Peek("description"))
	var items [][2]string
	for _, o := range options {
		if (name == "" || o.name == name) && (description == "" || o.description == description) {
			items = append(items, [2]string{o.name, o.description})
		}
	}
	writeNamedList(ctx, root, items)
	return nil
}

// writeNamedList renders {"<root>": [{"name", "description"}, ...]} with the
// request's fields.
func writeNamedList(ctx *fasthttp.RequestCtx, root string, items [][2]string) {
	fields := fieldsOf(ctx)
	b := append(appendJSONString([]byte{'{'}, root), ':', '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		o := openObject(b)
		if fields == nil || fields["name"] {
			o.str("name", it[0])
		}
		if fields == nil || fields["description"] {
			o.str("description", it[1])
		}
		b = o.close()
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(append(b, ']', '}'))
}

// checkProviderEnabled refuses a provider that is not enabled, in Octavia's words.
func checkProviderEnabled(name string) error {
	if !enabledProviders[name] {
		return badRequest("Provider '%s' is not enabled.", name)
	}
	return nil
}

// providerUnsupportedOption is Octavia's 501 for data a provider refuses.
func providerUnsupportedOption(provider, detail string) *apiError {
	return &apiError{fasthttp.StatusNotImplemented,
		fmt.Sprintf("Provider '%s' does not support a requested option: %s", provider, detail)}
}

// providerData is a profile's data: a JSON object whose keys a provider knows.
type providerData struct {
	keys   []string // in the order the JSON gives them (first occurrence)
	values map[string]any
}

// Keys and Value make it a python.Dict (messages show it as Python's repr).
func (d *providerData) Keys() []string       { return d.keys }
func (d *providerData) Value(key string) any { return d.values[key] }

// validateProviderData checks a profile's flavor_data or availability_zone_data
// (option is the attribute's name) as Octavia does: the string must be JSON
// (400 "<data> is not a valid option for <option>"), the provider must be enabled,
// and the provider's schema must accept it (501, with jsonschema's message).
func validateProviderData(providerName, option, raw string, options []providerOption) (*providerData, error) {
	v, err := parseOrderedJSON(raw)
	if err != nil {
		return nil, badRequest("%s is not a valid option for %s", raw, option)
	}
	if err := checkProviderEnabled(providerName); err != nil {
		return nil, err
	}
	if detail := schemaViolation(v, options); detail != "" {
		return nil, providerUnsupportedOption(providerName, detail)
	}
	return v.(*providerData), nil
}

// schemaViolation returns the message jsonschema's best match gives for data that
// breaks the schema (an object with additionalProperties false and typed
// properties), or "". Errors at the top level (type, unknown keys) come first;
// then the properties in schema order, each type before enum.
func schemaViolation(v any, options []providerOption) string {
	obj, ok := v.(*providerData)
	if !ok {
		return python.Repr(v) + " is not of type 'object'"
	}
	known := map[string]bool{}
	for _, o := range options {
		known[o.name] = true
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
		val, present := obj.values[o.name]
		if !present {
			continue
		}
		if !hasJSONType(val, o.jsonType) {
			return fmt.Sprintf("%s %s is not of type '%s'", o.name, python.Repr(val), o.jsonType)
		}
		if len(o.enum) > 0 {
			s, _ := val.(string)
			if !contains(o.enum, s) {
				quoted := make([]string, len(o.enum))
				for i, e := range o.enum {
					quoted[i] = python.Repr(e)
				}
				return fmt.Sprintf("%s %s is not one of [%s]", o.name, python.Repr(val), strings.Join(quoted, ", "))
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

// parseOrderedJSON decodes one JSON value; objects keep their keys' order (a
// repeated key keeps its first position and its last value, as Python's json does).
func parseOrderedJSON(raw string) (any, error) {
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
			obj := &providerData{values: map[string]any{}}
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
				if _, seen := obj.values[k]; !seen {
					obj.keys = append(obj.keys, k)
				}
				obj.values[k] = val
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
