package reservation

import (
	"regexp"
	"strconv"
	"time"
)

// Dates. Blazar reads start_date, end_date and before_end_date with Python's
// datetime.strptime(value, "%Y-%m-%d %H:%M"), in UTC, and start_date and
// end_date may also be the literal "now". strptime is lenient in ways clients
// rely on (the api-ref's own sample sends "2017-2-21 20:00"):
//
//   - month, day, hour and minute may have one digit, and the day may be a
//     space and one digit ("2017-02- 1 20:00");
//   - the space between date and time is any run of white space;
//   - the year has exactly four digits.
//
// keel also accepts seconds, "%Y-%m-%d %H:%M:%S" with the same leniency (a
// keel extension: leases of a few seconds, and tests that do not wait for
// minutes). Nothing else: no "T", no zone, no fraction.
//
// Python's \d and \s also take non-ASCII digits and spaces; keel takes ASCII
// digits and the white space listed in spaceRun.

// spaceRun is Python's \s+ for str: ASCII white space, the separators
// \x1c-\x1f, NEL and Unicode's separators.
const spaceRun = `[\t\n\v\f\r \x{1c}-\x{1f}\x{85}\p{Z}]+`

var dateRE = regexp.MustCompile(`^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])` + spaceRun +
	`(2[0-3]|[01]\d|\d):([0-5]\d|\d)(?::([0-5]\d|\d))?$`)

// ParseDate reads a start_date or end_date: "now" is now (to the second, the
// precision keel keeps dates in), anything else must be a date as above. A
// refusal is ErrInvalidDate with the value as sent.
func ParseDate(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now.UTC().Truncate(time.Second), nil
	}
	return parseDateOnly(s)
}

// parseDateOnly is ParseDate without "now": before_end_date is read this way
// (Blazar does not accept "now" there).
func parseDateOnly(s string) (time.Time, error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, ErrInvalidDate(s)
	}
	n := make([]int, 6)
	for i := range 6 {
		if m[i+1] == "" {
			continue
		}
		v, err := strconv.Atoi(trimSpace(m[i+1]))
		if err != nil {
			return time.Time{}, ErrInvalidDate(s)
		}
		n[i] = v
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, time.UTC)
	// strptime refuses year 0 and a day its month does not have (ValueError,
	// hence InvalidDate); time.Date would normalise them.
	if n[0] < 1 || t.Day() != n[2] {
		return time.Time{}, ErrInvalidDate(s)
	}
	return t, nil
}

func trimSpace(s string) string {
	if len(s) > 0 && s[0] == ' ' {
		return s[1:]
	}
	return s
}

// currentMinute is Blazar's "now" for its "in the past" checks: the current
// UTC minute, seconds dropped. A start of "now" is therefore never in the past.
func currentMinute(now time.Time) time.Time { return now.UTC().Truncate(time.Minute) }

// FormatDate renders start_date, end_date and an event's time as Blazar does
// (oslo jsonutils): "2017-02-21T20:00:00.000000", UTC, no zone.
func FormatDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// FormatTimestamp renders created_at and updated_at as Blazar does (Python's
// isoformat(' ')): "2017-02-21 14:56:32.123456", and without the fraction when
// it is zero ("2017-02-21 14:56:32", as in the api-ref's samples).
func FormatTimestamp(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}
