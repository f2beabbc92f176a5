package http

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonObject appends one JSON object to a byte slice, key by key: responses are
// rendered straight into the output buffer, with no reflection and no maps.
type jsonObject struct {
	b     []byte
	count int
}

func openObject(b []byte) jsonObject { return jsonObject{b: append(b, '{')} }

func (o *jsonObject) key(k string) {
	if o.count > 0 {
		o.b = append(o.b, ',')
	}
	o.count++
	o.b = appendJSONString(o.b, k)
	o.b = append(o.b, ':')
}

// rawKey appends a pre-encoded `"key":`.
func (o *jsonObject) rawKey(k []byte) {
	if o.count > 0 {
		o.b = append(o.b, ',')
	}
	o.count++
	o.b = append(o.b, k...)
}

func (o *jsonObject) str(k, v string) { o.key(k); o.b = appendJSONString(o.b, v) }
func (o *jsonObject) boolean(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}
func (o *jsonObject) integer(k string, v int64) { o.key(k); o.b = strconv.AppendInt(o.b, v, 10) }
func (o *jsonObject) null(k string)             { o.key(k); o.b = append(o.b, "null"...) }
func (o *jsonObject) raw(k string, v []byte)    { o.key(k); o.b = append(o.b, v...) }

// nullableStr renders "" as null (ids and references that are unset).
func (o *jsonObject) nullableStr(k, v string) {
	if v == "" {
		o.null(k)
		return
	}
	o.str(k, v)
}

func (o *jsonObject) close() []byte { return append(o.b, '}') }

// timestampLayout is Octavia's: ISO 8601 without zone, in UTC.
const timestampLayout = "2006-01-02T15:04:05"

func appendTimestamp(b []byte, micros int64) []byte {
	if micros == 0 {
		return append(b, "null"...)
	}
	t := time.UnixMicro(micros).UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	return append(b, '"')
}

// appendDigits appends v zero-padded to width digits (v >= 0).
func appendDigits(b []byte, v, width int) []byte {
	var buf [8]byte
	i := len(buf)
	for v > 0 || width > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	return append(b, buf[i:]...)
}

func formatTimestamp(micros int64) string {
	if micros == 0 {
		return ""
	}
	return time.UnixMicro(micros).UTC().Format(timestampLayout)
}

func appendStringList(b []byte, vs []string) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// appendIDList renders [{"id": ...}, ...], Octavia's shape for references.
func appendIDList(b []byte, ids []string) []byte {
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, id)
		b = append(b, '}')
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// safeASCII marks the ASCII bytes a JSON string carries unescaped (encoding/json's
// HTML-safe set).
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as a JSON string, escaping as encoding/json does
// (invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
