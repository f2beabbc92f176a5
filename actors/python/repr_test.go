package python

import (
	"encoding/json"
	"testing"
)

// The expected values are what CPython 3.11's repr() answered (for numbers: of
// json.loads of the text). Characters Unicode assigned after version 14 (Python
// 3.11's table) are left out: Go's table may know them as printable already.
func TestReprString(t *testing.T) {
	for _, c := range []struct{ s, python string }{
		{"", "''"},
		{"plain", "'plain'"},
		{"it's", "\"it's\""},
		{"say \"hi\"", "'say \"hi\"'"},
		{"say \"hi\" it's", "'say \"hi\" it\\'s'"},
		{"back\\slash", "'back\\\\slash'"},
		{"tab\u0009new\u000aline\u000d", "'tab\\tnew\\nline\\r'"},
		{"\u0000\u0001\u001f\u007f", "'\\x00\\x01\\x1f\\x7f'"},
		{"caf\u00e9", "'caf\u00e9'"},
		{"\u0085", "'\\x85'"},
		{"\u00a0", "'\\xa0'"},
		{"\u2028", "'\\u2028'"},
		{"\u200b", "'\\u200b'"},
		{"\ufeff", "'\\ufeff'"},
		{"\U0001f600", "'\U0001f600'"},
		{"\U000e0001", "'\\U000e0001'"},
		{"\U0010ffff", "'\\U0010ffff'"},
		{"\u0378", "'\\u0378'"},
		{"\u65e5\u672c", "'\u65e5\u672c'"},
	} {
		if got := Repr(c.s); got != c.python {
			t.Errorf("Repr(%q) = %s, Python says %s", c.s, got, c.python)
		}
	}
}

func TestReprNumber(t *testing.T) {
	for _, c := range []struct{ json, python string }{
		{"12", "12"},
		{"-0", "0"},
		{"1.5", "1.5"},
		{"1e3", "1000.0"},
		{"1e16", "1e+16"},
		{"0.0001", "0.0001"},
		{"0.00001", "1e-05"},
		{"123456789012345678901234567", "123456789012345678901234567"},
		{"-0.0", "-0.0"},
		{"2.5e-7", "2.5e-07"},
		{"123456789.125", "123456789.125"},
		// A known difference, kept as it was: Python reads 1E400 as inf.
		{"1E400", "1E400"},
	} {
		if got := Repr(json.Number(c.json)); got != c.python {
			t.Errorf("Repr(%s) = %s, Python says %s", c.json, got, c.python)
		}
	}
}

type dict struct {
	keys   []string
	values map[string]any
}

func (d dict) Keys() []string       { return d.keys }
func (d dict) Value(key string) any { return d.values[key] }

func TestReprContainers(t *testing.T) {
	for _, c := range []struct {
		v      any
		python string
	}{
		{nil, "None"},
		{true, "True"},
		{false, "False"},
		{[]any{true, false, nil, json.Number("1"), "a"}, "[True, False, None, 1, 'a']"},
		{[]string{"h3", "it's"}, `['h3', "it's"]`},
		{[]any{}, "[]"},
		{dict{}, "{}"},
		{dict{keys: []string{"b", "a"}, values: map[string]any{"a": []any{json.Number("1")}, "b": json.Number("2")}},
			"{'b': 2, 'a': [1]}"},
	} {
		if got := Repr(c.v); got != c.python {
			t.Errorf("Repr(%#v) = %s, Python says %s", c.v, got, c.python)
		}
	}
}

// QuotedList and the quoting of names in regex errors keep keel's historical
// spelling where it differs from repr; these pin it.
func TestHistoricalQuoting(t *testing.T) {
	for _, c := range []struct {
		items []string
		want  string
	}{
		{nil, "[]"},
		{[]string{"h3"}, "['h3']"},
		{[]string{"http/1.1", "spdy/3"}, "['http/1.1', 'spdy/3']"},
		{[]string{"it's", `a\b`, "tab\t", "\u0085"}, "['it\\'s', 'a\\\\b', 'tab\t', '\u0085']"},
	} {
		if got := QuotedList(c.items); got != c.want {
			t.Errorf("QuotedList(%q) = %s, want %s", c.items, got, c.want)
		}
	}
	for name, want := range map[string]string{
		"a-b":       "'a-b'",
		"it's":      `"it's"`,
		"\u0085":    "'\u0085'",
		"a\u2028b":  "'a\u2028b'",
		"tab\there": `'tab\there'`,
	} {
		if got := reprName(name); got != want {
			t.Errorf("reprName(%q) = %s, want %s", name, got, want)
		}
	}
}

// A decoded JSON object (map[string]any) is a dict with its keys sorted.
func TestReprMap(t *testing.T) {
	v := map[string]any{"b": []any{"x", nil}, "a": true}
	if got, want := Repr(v), "{'a': True, 'b': ['x', None]}"; got != want {
		t.Fatalf("Repr = %s, want %s", got, want)
	}
}
