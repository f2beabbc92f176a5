package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/uuid"

	"keel/actors/octaviarules"
)

// maxBodyBytes bounds request bodies; larger ones are refused with 400 before parsing.
const maxBodyBytes = 1 << 20

// decodeRoot checks a request body is one JSON object whose only key is root, and
// returns that key's object. arg is Octavia's argument name in messages
// ("load_balancer"), as WSME reports them.
func decodeRoot(body []byte, arg, root string) (*fieldReader, error) {
	if len(body) > maxBodyBytes {
		return nil, badRequest("Request is too large.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("Missing argument: \"%s\"", arg)
	}
	if err := checkJSONText(body); err != nil {
		return nil, err
	}
	// The common body (valid, its root an object) in one decode; anything else
	// takes the two-step path below, which names what is wrong.
	var both map[string]map[string]json.RawMessage
	if json.Unmarshal(body, &both) == nil && len(both) == 1 && both[root] != nil {
		return &fieldReader{arg: arg + "." + root, fields: both[root], set: make([]string, 0, len(both[root]))}, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, badRequest("Request is not in valid JSON format")
	}
	for _, k := range sortedKeys(top) {
		if k != root {
			return nil, badRequest("Unknown attribute for argument %s: %s", arg, k)
		}
	}
	raw, ok := top[root]
	if !ok {
		return nil, badRequest("Missing argument: \"%s\"", arg)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, badRequest("Invalid input for field/attribute %s. Value: '%s'. Value should be an object", root, shortValue(raw))
	}
	return &fieldReader{arg: arg + "." + root, fields: fields}, nil
}

// checkJSONText refuses what encoding/json would otherwise store changed or
// unstorable: bytes that are not UTF-8 and escaped lone surrogates (both would
// become U+FFFD; RFC 8259 JSON text is UTF-8, so the body is not JSON), and
// NUL characters (\u0000), which no configuration file or log line should carry
// and Octavia's databases do not take. Malformed escapes are left to the parser.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		return badRequest("Request is not in valid JSON format")
	}
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(body) || body[i+1] != 'u' {
				i++ // a one-character escape
				continue
			}
			r, ok := hex4(body, i+2)
			if !ok {
				return nil
			}
			switch {
			case r == 0:
				return badRequest("Invalid input: strings must not hold NUL characters (\\u0000).")
			case utf16.IsSurrogate(r):
				low, ok := hex4(body, i+8)
				if r >= 0xdc00 || i+7 >= len(body) || body[i+6] != '\\' || body[i+7] != 'u' || !ok || low < 0xdc00 || low > 0xdfff {
					return badRequest("Request is not in valid JSON format")
				}
				i += 6
			}
			i += 5
		}
	}
	return nil
}

// hex4 reads the four hex digits of a \u escape at body[at:].
func hex4(body []byte, at int) (rune, bool) {
	if at+4 > len(body) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[at:at+4]), 16, 32)
	return rune(n), err == nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldReader decodes the attributes of one object, keeping the first error in
// WSME's words. Every accessor marks its attribute known; finish reports the rest.
type fieldReader struct {
	arg    string
	fields map[string]json.RawMessage
	// set: the attributes the body set that were read, in reading order (an
	// update's field mask); finish refuses the body's others as unknown.
	set []string
	err error
}

func (f *fieldReader) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

func invalidInput(name string, raw json.RawMessage, why string) error {
	return badRequest("Invalid input for field/attribute %s. Value: '%s'. %s", name, shortValue(raw), why)
}

// shortValue shows a JSON value as WSME would quote it (strings unquoted).
func shortValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	v := string(bytes.TrimSpace(raw))
	if len(v) > 200 {
		v = v[:200] + "..."
	}
	return v
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// lookup returns an attribute's raw value; present is false when absent. A present
// attribute joins the field mask.
func (f *fieldReader) lookup(name string) (json.RawMessage, bool) {
	raw, ok := f.fields[name]
	if ok {
		f.set = append(f.set, name)
	}
	return raw, ok
}

// peekStr returns a string attribute's value without reading it (empty when
// absent or not a string): for decisions made before the attribute is decoded.
func (f *fieldReader) peekStr(name string) string {
	var v string
	_ = json.Unmarshal(f.fields[name], &v)
	return v
}

// mask returns the names of the attributes the body set.
func (f *fieldReader) mask() []string { return f.set }

// nulls returns the attributes of the mask the body set to null.
func (f *fieldReader) nulls() []string {
	var out []string
	for _, name := range f.set {
		if isNull(f.fields[name]) {
			out = append(out, name)
		}
	}
	return out
}

// finishUpdate ends an update's decoding: the values, the attributes the body
// set, and those it set to null.
func finishUpdate[T any](v T, f *fieldReader) (T, []string, []string, error) {
	if err := f.finish(); err != nil {
		var zero T
		return zero, nil, nil, err
	}
	return v, f.mask(), f.nulls(), nil
}

// has reports whether the body sets an attribute (null included).
func (f *fieldReader) has(name string) bool {
	_, ok := f.fields[name]
	return ok
}

// str decodes a string of at most maxLen characters. set is false when absent;
// null gives "" with set true.
func (f *fieldReader) str(name string, maxLen int) (v string, set bool) {
	raw, ok := f.lookup(name)
	if !ok {
		return "", false
	}
	if isNull(raw) {
		return "", true
	}
	v, ok = plainString(raw)
	if !ok {
		var decoded string // its own variable: &v would move every call's result to the heap
		if err := json.Unmarshal(raw, &decoded); err != nil {
			f.fail(invalidInput(name, raw, "Wrong type. Expected 'str', got '"+jsonTypeName(raw)+"'"))
			return "", false
		}
		v = decoded
	}
	if maxLen > 0 && len([]rune(v)) > maxLen {
		f.fail(badRequest("Invalid input for field/attribute %s. Value: '%s'. Value should have a maximum character requirement of %d", name, v, maxLen))
		return "", false
	}
	return v, true
}

// plainString reads a JSON string that has no escapes without encoding/json:
// its bytes between the quotes are its value (the body is valid UTF-8 JSON,
// checked before any field is read). Anything else is not plain.
func plainString(raw json.RawMessage) (string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	inner := raw[1 : n-1]
	if bytes.IndexByte(inner, '\\') >= 0 || bytes.IndexByte(inner, '"') >= 0 {
		return "", false
	}
	return string(inner), true
}

// uuidStr decodes a UUID string (hyphenated or 32 hex digits, as oslo accepts).
func (f *fieldReader) uuidStr(name string) (string, bool) {
	raw := f.fields[name]
	v, set := f.str(name, 0)
	if !set || v == "" {
		return v, set
	}
	if !isUUID(v) {
		f.fail(invalidInput(name, raw, "Value should be UUID format"))
		return "", false
	}
	return v, true
}

func isUUID(s string) bool {
	if len(s) != 36 && len(s) != 32 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// ipStr decodes an IPv4 or IPv6 address, kept as written (Octavia's
// IPAddressType validates and returns the value unchanged:
// octaviarules.AddressKey compares two spellings).
func (f *fieldReader) ipStr(name string) (string, bool) {
	raw := f.fields[name]
	v, set := f.str(name, 0)
	if !set || v == "" {
		return v, set
	}
	if _, ok := octaviarules.ParseAddress(v); !ok {
		f.fail(invalidInput(name, raw, "Value should be IPv4 or IPv6 format"))
		return "", false
	}
	return v, true
}

// boolean decodes a boolean, leniently as WSME does (true/false, "yes"/"no", 1/0).
func (f *fieldReader) boolean(name string) (v bool, set bool) {
	raw, ok := f.lookup(name)
	if !ok || isNull(raw) {
		return false, false
	}
	if err := json.Unmarshal(raw, &v); err == nil {
		return v, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if b, ok := parseBool(s); ok {
			return b, true
		}
	}
	var n float64
	if json.Unmarshal(raw, &n) == nil && (n == 0 || n == 1) {
		return n == 1, true
	}
	f.fail(invalidInput(name, raw, "Value should be boolean"))
	return false, false
}

// strList decodes a list of strings, each at most maxLen characters.
func (f *fieldReader) strList(name string, maxLen int) (v []string, set bool) {
	raw, ok := f.lookup(name)
	if !ok {
		return nil, false
	}
	if isNull(raw) {
		return []string{}, true
	}
	var items []*string
	if err := json.Unmarshal(raw, &items); err != nil {
		f.fail(badRequest("Invalid input for field/attribute %s. Value: '%s'. Value not a valid list: %s", name, shortValue(raw), shortValue(raw)))
		return nil, false
	}
	for _, it := range items {
		if it == nil { // encoding/json would make it ""
			f.fail(invalidInput(name, raw, "Wrong type. Expected 'str', got 'NoneType'"))
			return nil, false
		}
		v = append(v, *it)
	}
	for _, s := range v {
		if len([]rune(s)) > maxLen {
			f.fail(badRequest("Invalid input for field/attribute %s. Value: '%s'. Value should have a maximum character requirement of %d", name, s, maxLen))
			return nil, false
		}
	}
	if v == nil {
		v = []string{}
	}
	return v, true
}

// objectList decodes a list of objects, each as its own fieldReader.
func (f *fieldReader) objectList(name string) ([]*fieldReader, bool) {
	raw, ok := f.lookup(name)
	if !ok || isNull(raw) {
		return nil, false
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		f.fail(badRequest("Invalid input for field/attribute %s. Value: '%s'. Value not a valid list: %s", name, shortValue(raw), shortValue(raw)))
		return nil, false
	}
	out := make([]*fieldReader, len(items))
	for i, it := range items {
		out[i] = &fieldReader{arg: f.arg + "." + name, fields: it}
	}
	return out, true
}

// finish reports the first decoding error, or the first attribute nobody asked for.
func (f *fieldReader) finish() error {
	if f.err != nil {
		return f.err
	}
	var unknown []string
	for k := range f.fields {
		if !slices.Contains(f.set, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badRequest("Unknown attribute for argument %s: %s", f.arg, strings.Join(unknown, ", "))
	}
	return nil
}

func jsonTypeName(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "NoneType"
	}
	switch t[0] {
	case '"':
		return "str"
	case '{':
		return "dict"
	case '[':
		return "list"
	case 't', 'f':
		return "bool"
	case 'n':
		return "NoneType"
	}
	if bytes.ContainsAny(t, ".eE") {
		return "float"
	}
	return "int"
}

// required reports a missing mandatory attribute in WSME's words.
func (f *fieldReader) required(name string) {
	if raw, ok := f.fields[name]; !ok || isNull(raw) {
		f.fail(badRequest("Invalid input for field/attribute %s. Value: 'None'. Mandatory field missing.", name))
	}
}

// enum decodes a string that must be one of allowed (listed in the message).
func (f *fieldReader) enum(name string, allowed ...string) (string, bool) {
	raw := f.fields[name]
	v, set := f.str(name, 0)
	if !set || v == "" && isNull(raw) {
		return "", set
	}
	for _, a := range allowed {
		if v == a {
			return v, true
		}
	}
	f.fail(badRequest("Invalid input for field/attribute %s. Value: '%s'. Value should be one of: %s", name, v, strings.Join(allowed, ", ")))
	return "", false
}

// integer decodes a whole number within [min, max]. set is false when absent;
// null gives set true and null true.
func (f *fieldReader) integer(name string, min, max int64) (v int64, set, null bool) {
	raw, ok := f.lookup(name)
	if !ok {
		return 0, false, false
	}
	if isNull(raw) {
		return 0, true, true
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		// WSME also accepts integers written as strings.
		var s string
		if json.Unmarshal(raw, &s) != nil {
			f.fail(invalidInput(name, raw, "Wrong type. Expected 'int', got '"+jsonTypeName(raw)+"'"))
			return 0, false, false
		}
		n = json.Number(s)
	}
	i, err := n.Int64()
	if err != nil {
		f.fail(invalidInput(name, raw, "Wrong type. Expected 'int', got '"+jsonTypeName(raw)+"'"))
		return 0, false, false
	}
	if i < min {
		f.fail(badRequest("Invalid input for field/attribute %s. Value: '%d'. Value should be greater or equal to %d", name, i, min))
		return 0, false, false
	}
	if i > max {
		f.fail(badRequest("Invalid input for field/attribute %s. Value: '%d'. Value should be lower or equal to %d", name, i, max))
		return 0, false, false
	}
	return i, true, false
}

// stringMap decodes an object of string values.
func (f *fieldReader) stringMap(name string) (map[string]string, bool) {
	raw, ok := f.lookup(name)
	if !ok {
		return nil, false
	}
	if isNull(raw) {
		return map[string]string{}, true
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		f.fail(invalidInput(name, raw, "Value should be a dictionary of strings"))
		return nil, false
	}
	return m, true
}

// object returns a nested object's reader (nil when absent or null).
func (f *fieldReader) object(name string) (*fieldReader, bool) {
	raw, ok := f.lookup(name)
	if !ok {
		return nil, false
	}
	if isNull(raw) {
		return nil, true
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		f.fail(invalidInput(name, raw, "Value should be an object"))
		return nil, false
	}
	return &fieldReader{arg: f.arg + "." + name, fields: fields}, true
}

// decodeTop checks a request body is one JSON object and returns a reader over its
// top-level attributes (for bodies whose root holds a list, as a member batch
// does). arg is Octavia's argument name in messages ("members_").
func decodeTop(body []byte, arg string) (*fieldReader, error) {
	if len(body) > maxBodyBytes {
		return nil, badRequest("Request is too large.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("Missing argument: \"%s\"", arg)
	}
	if err := checkJSONText(body); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, badRequest("Request is not in valid JSON format")
	}
	return &fieldReader{arg: arg, fields: top}, nil
}

// validStr decodes a string of minLen..maxLen characters that valid accepts, else
// fails with WSME's reason why (patternReason for a pattern). valid is a function,
// not a regexp, because some of Octavia's patterns use look-arounds Go's regexp
// does not have.
func (f *fieldReader) validStr(name string, minLen, maxLen int, why string, valid func(string) bool) (string, bool) {
	raw := f.fields[name]
	v, set := f.str(name, maxLen)
	if !set || isNull(raw) {
		return v, set
	}
	if len([]rune(v)) < minLen {
		f.fail(invalidInput(name, raw, fmt.Sprintf("Value should have a minimum character requirement of %d", minLen)))
		return "", false
	}
	if !valid(v) {
		f.fail(invalidInput(name, raw, why))
		return "", false
	}
	return v, true
}

// patternReason is WSME's reason for a string that does not match its pattern.
func patternReason(pattern string) string { return "Value should match the pattern " + pattern }

// floatEnum decodes a number that must equal one of allowed (written as WSME
// prints floats: "1.0", "1.1"), returning the allowed spelling. set is false when
// absent; null gives "" with set true.
func (f *fieldReader) floatEnum(name string, allowed ...string) (string, bool) {
	raw, ok := f.lookup(name)
	if !ok {
		return "", false
	}
	if isNull(raw) {
		return "", true
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		for _, a := range allowed {
			if want, _ := strconv.ParseFloat(a, 64); want == n {
				return a, true
			}
		}
	}
	f.fail(invalidInput(name, raw, "Value should be one of: "+strings.Join(allowed, ", ")))
	return "", false
}
