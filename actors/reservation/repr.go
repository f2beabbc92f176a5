package reservation

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Blazar's messages show Python values: str() of a parsed filter, repr() of a
// key list. keel's actors/python.Repr does the same for Octavia, but this
// package imports nothing of keel, so the few cases Blazar needs live here:
// the values encoding/json decodes to with UseNumber (nil, bool, string,
// json.Number, []any, map[string]any).

// pyStr is Python's str(v): a string as it is, anything else as repr.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyRepr is Python's repr(v) of a JSON value as Python's json module decodes
// it. A JSON object's keys come out sorted (Go's map has lost the order the
// client wrote them in; Python keeps it): only the text of a refusal can differ.
func pyRepr(v any) string {
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
		b.WriteString(reprNumber(string(x)))
	case float64:
		b.WriteString(reprNumber(strconv.FormatFloat(x, 'g', -1, 64)))
	case string:
		b.WriteString(reprString(x))
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
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(reprString(k))
			b.WriteString(": ")
			writeRepr(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, v)
	}
}

// reprNumber is a JSON number as Python shows it: an integer as written, a
// float in repr's shortest form (exponent from 1e16 and below 1e-4).
func reprNumber(n string) string {
	if !strings.ContainsAny(n, ".eE") {
		return n
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return n
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64)
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

// reprString is repr(str): single quotes unless the text holds a single quote
// and no double quote; backslash, the quote, \n \r \t escaped; other control
// and non-printable characters as \xhh, \uhhhh, \Uhhhhhhhh.
func reprString(s string) string {
	var b strings.Builder
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
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0x7f && !unicode.IsPrint(r):
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteRune(q)
	return b.String()
}

// reprStrings is repr of a list of str.
func reprStrings(items []string) string {
	l := make([]any, len(items))
	for i, s := range items {
		l[i] = s
	}
	return pyRepr(l)
}
