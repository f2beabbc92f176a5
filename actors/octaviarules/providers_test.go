package octaviarules

import (
	"testing"

	"keel/actors/python"
)

// Profile data is parsed keeping its keys' order, so messages quote it as
// Octavia's (Python's repr of json.loads) do.
func TestParseOrderedJSONRepr(t *testing.T) {
	for raw, want := range map[string]string{
		`"it's"`:                      `"it's"`,
		`"say \"hi\" it's"`:           `'say "hi" it\'s'`,
		`"tab\tnew\nline\\"`:          `'tab\tnew\nline\\'`,
		`"caf\u00e9 \u0001"`:          `'café \x01'`,
		`12`:                          `12`,
		`-0`:                          `0`,
		`1.5`:                         `1.5`,
		`1e3`:                         `1000.0`,
		`1e16`:                        `1e+16`,
		`0.0001`:                      `0.0001`,
		`0.00001`:                     `1e-05`,
		`123456789012345678901234567`: `123456789012345678901234567`,
		`[true, false, null, {}]`:     `[True, False, None, {}]`,
		`{"b": 1, "a": [1], "b": 2}`:  `{'b': 2, 'a': [1]}`,
	} {
		v, err := ParseOrderedJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := python.Repr(v); got != want {
			t.Errorf("repr(%s) = %s, want %s", raw, got, want)
		}
	}
	for _, bad := range []string{"", "{", "{} {}", "[1,]", "nan"} {
		if _, err := ParseOrderedJSON(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
