package reservation

import "keel/actors/python"

// Blazar's messages show Python values: str() of a parsed filter, repr() of a
// key list, as Python's json module decodes them (keel decodes with
// UseNumber: nil, bool, string, json.Number, []any, map[string]any). The one
// home of Python's repr is actors/python.

// pyStr is Python's str(v): a string as it is, anything else as repr.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr is Python's repr(v).
func pyRepr(v any) string { return python.Repr(v) }
