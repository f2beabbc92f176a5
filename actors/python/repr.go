// Package python is keel's Python compatibility: the parts of Octavia's answers
// that are Python's own output, reproduced byte for byte. Octavia is written in
// Python, and some of its messages show Python at work: repr() of the value a
// check refused (jsonschema's and WSME's messages) and the text of re.error for a
// regular expression re.compile refused (an L7 rule's REGEX value). Repr and
// CheckRegex are the one home of both; the package imports nothing of keel.
package python

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Dict is a Python dict as Repr shows it: its keys in insertion order (a Go map
// has none), and their values.
type Dict interface {
	Keys() []string
	Value(key string) any
}

// Repr is Python's repr() of v, for the values a JSON document decodes to: nil
// (None), bool, string, json.Number (an int as written, a float in repr's
// shortest form), float64, int, []string, []any, Dict and map[string]any (its
// keys sorted: a Go map has lost the order the document wrote them in, which
// Python keeps, so only such a message's key order can differ). Anything else is
// written with fmt.Sprint.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case json.Number:
		b.WriteString(number(string(x)))
	case float64:
		b.WriteString(float(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case string:
		quote(b, x, cpython)
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			quote(b, e, cpython)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		writeRepr(b, sortedDict(x))
	case Dict:
		b.WriteByte('{')
		for i, k := range x.Keys() {
			if i > 0 {
				b.WriteString(", ")
			}
			quote(b, k, cpython)
			b.WriteString(": ")
			writeRepr(b, x.Value(k))
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, v)
	}
}

// number is repr of a JSON number as Python's json module decodes it: an integer
// as written (any size), a float in repr's shortest form.
func number(n string) string {
	if !strings.ContainsAny(n, ".eE") {
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return n
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return n
	}
	return float(f)
}

// float is repr of a float: the shortest digits that read back the same, in
// exponent notation below 1e-4 and from 1e16.
func float(f float64) string {
	sci := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mantissa, exp, _ := strings.Cut(sci, "e")
	e, _ := strconv.Atoi(exp)
	if e >= -4 && e < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	sign := "+"
	if e < 0 {
		sign, e = "-", -e
	}
	return fmt.Sprintf("%se%s%02d", mantissa, sign, e)
}

// A quoting is how quote spells a string. cpython is repr itself; the other two
// are spellings keel's messages have always used where they differ from repr,
// kept so that no message changes (each is documented where it is used).
type quoting int

const (
	cpython         quoting = iota // repr(str)
	nonASCIIAsIs                   // repr, but every non-ASCII character as it is
	singleQuotedRaw                // always '...', with only \ and ' escaped, byte by byte
)

// quote writes s as a Python string literal: in single quotes unless s holds a
// single quote and no double quote; backslash, the quote, \n, \r and \t escaped;
// other control characters and the characters str.isprintable refuses as \xhh,
// \uhhhh or \Uhhhhhhhh.
func quote(b *strings.Builder, s string, how quoting) {
	if how == singleQuotedRaw {
		b.WriteByte('\'')
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' || s[i] == '\'' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte('\'')
		return
	}
	q := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	b.WriteRune(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == q:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r > 0x7f && how == cpython && !unicode.IsPrint(r):
			// Python's non-printable characters (categories C and Z but the
			// ASCII space) are Go's !IsPrint ones.
			switch {
			case r <= 0xff:
				fmt.Fprintf(b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(b, `\u%04x`, r)
			default:
				fmt.Fprintf(b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteRune(q)
}

// QuotedList is how keel has always written a list of strings in WSME's
// alpn_protocols message ("Value: '['h3']'"): Python's list syntax with every
// item in single quotes and only backslash and single quote escaped. It is
// Repr for lists of plain names; CPython's repr differs for an item holding a
// quote, a control or a non-printable character (["it's"] where this writes
// ['it\'s']). Kept so the message does not change; see docs/ARCHITECTURE.md.
func QuotedList(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		quote(&b, s, singleQuotedRaw)
	}
	b.WriteByte(']')
	return b.String()
}

// sortedDict is a map as a Dict with its keys in sorted order.
type sortedDict map[string]any

func (d sortedDict) Keys() []string     { return slices.Sorted(maps.Keys(d)) }
func (d sortedDict) Value(k string) any { return d[k] }
