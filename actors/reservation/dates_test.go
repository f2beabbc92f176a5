package reservation

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// errText is the refusal's code and text, "" for none.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "not an *Error: " + err.Error()
	}
	return strconv.Itoa(e.Code) + " " + e.Message
}

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseDate(t *testing.T) {
	now := time.Date(2026, 11, 25, 5, 17, 42, 123456789, time.UTC)
	for _, c := range []struct {
		in   string
		want string // "2006-01-02 15:04:05", or the refusal
	}{
		{"now", "2026-11-25 05:17:42"},
		{"2026-11-25 05:17", "2026-11-25 05:17:00"},
		{"2017-2-21 20:00", "2017-02-21 20:00:00"}, // the api-ref's own sample
		{"2017-02-24 19:00", "2017-02-24 19:00:00"},
		{"2017-02-1 1:5", "2017-02-01 01:05:00"},
		{"2017-02- 1 01:05", "2017-02-01 01:05:00"}, // strptime's %d takes " 1"
		{"2017-02-01  \t01:05", "2017-02-01 01:05:00"},
		{"2024-02-29 00:00", "2024-02-29 00:00:00"},
		{"2026-11-25\v05:17", "2026-11-25 05:17:00"},     // Python's \s
		{"2026-11-25\u200305:17", "2026-11-25 05:17:00"}, // em space
		{"2026-11-25 05:17 ", "400 2026-11-25 05:17  is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-11-25 05:17:09", "2026-11-25 05:17:09"}, // keel's seconds
		{"2026-11-25 05:17:9", "2026-11-25 05:17:09"},
		{"2026-11-25T05:17", "400 2026-11-25T05:17 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-11-25 05:17:00.5", "400 2026-11-25 05:17:00.5 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-11-25 05:17Z", "400 2026-11-25 05:17Z is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"26-11-25 05:17", "400 26-11-25 05:17 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-13-01 00:00", "400 2026-13-01 00:00 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-02-30 00:00", "400 2026-02-30 00:00 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-11-25 24:00", "400 2026-11-25 24:00 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-11-25 05:60", "400 2026-11-25 05:60 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"0000-01-01 00:00", "400 0000-01-01 00:00 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"2026-11-25", "400 2026-11-25 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{" 2026-11-25 05:17", "400  2026-11-25 05:17 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"NOW", "400 NOW is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"", "400  is an invalid date. Required format: %Y-%m-%d %H:%M"},
	} {
		got, err := ParseDate(c.in, now)
		out := errText(err)
		if err == nil {
			out = got.Format("2006-01-02 15:04:05")
			if got.Location() != time.UTC {
				t.Errorf("%q: not UTC", c.in)
			}
		}
		if out != c.want {
			t.Errorf("ParseDate(%q) = %s, want %s", c.in, out, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tm := time.Date(2017, 2, 21, 14, 56, 32, 0, time.FixedZone("x", 3600))
	if got := FormatDate(tm); got != "2017-02-21T13:56:32.000000" {
		t.Errorf("FormatDate: %s", got)
	}
	if got := FormatTimestamp(tm); got != "2017-02-21 13:56:32" {
		t.Errorf("FormatTimestamp without fraction: %s", got)
	}
	if got := FormatTimestamp(tm.Add(123456789)); got != "2017-02-21 13:56:32.123456" {
		t.Errorf("FormatTimestamp: %s", got)
	}
}
