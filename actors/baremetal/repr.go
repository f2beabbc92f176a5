package baremetal

import "keel/actors/python"

// pyRepr is a decoded JSON value (json.Number for numbers) as Python's repr()
// shows it, the way jsonschema's and PatchError's messages interpolate values
// (a dict's keys sorted: Python keeps the client's order). The one home of
// Python's repr is actors/python.
func pyRepr(v any) string { return python.Repr(v) }

// pyStr is repr of a string: Python's quoting and escapes.
func pyStr(s string) string { return python.Repr(s) }
