package reservation

import (
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The filter language of a physical:host reservation (Blazar's
// convert_requirements and host_get_all_by_queries). hypervisor_properties and
// resource_properties are each a string holding JSON:
//
//	""  or  "[]"                       no filter
//	["<op>", "$<key>", "<value>"]      one comparison; op one of == = != >= <= > <
//	                                   ("=" is "=="), value a non-empty string
//	["and", <req>, <req>, ...]         all of them
//
// An element of an "and" may itself be a string holding JSON (it is read again).
// A nested "and" counts for its first requirement only (Blazar takes [0] of
// what it converts to); keel keeps that. Anything else is refused with
// ErrMalformedRequirements: the filter string itself when it is not JSON, else
// the offending value as Python prints it (for an "and", the first element
// that is malformed, else the whole list) — "['==', '$vcpus', 8]".

// A Requirement is one comparison: host <Key> <Op> <Value>. Key has no "$";
// Op is one of == != >= <= > <.
type Requirement struct {
	Key, Op, Value string
}

// Requirements are comparisons that must all hold.
type Requirements []Requirement

var filterOps = []string{"==", "=", "!=", ">=", "<=", ">", "<"}

// ParseRequirements reads one filter string.
func ParseRequirements(s string) (Requirements, error) {
	return convertRequirements(s)
}

// ParseFilters reads a reservation's two filters into one list,
// hypervisor_properties first (Blazar's order of evaluation).
func ParseFilters(hypervisorProperties, resourceProperties string) (Requirements, error) {
	var out Requirements
	for _, f := range []string{hypervisorProperties, resourceProperties} {
		if f == "" {
			continue
		}
		r, err := ParseRequirements(f)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	return out, nil
}

// decodeJSON reads one JSON document as Python's json.loads does (numbers kept
// as written, nothing after the value but white space).
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

// convertRequirements is Blazar's convert_requirements, step by step: a string
// is parsed first; a three-element comparison; an "and" whose elements all
// convert to something; an empty list. Like Blazar it writes "==" over "=" in
// the parsed list, which shows in a later refusal of the enclosing list.
func convertRequirements(v any) (Requirements, error) {
	if s, ok := v.(string); ok {
		if s == "" {
			s = "[]"
		}
		parsed, err := decodeJSON(s)
		if err != nil {
			return nil, ErrMalformedRequirements(s)
		}
		v = parsed
	}
	l, isList := v.([]any)
	if r, ok := comparison(l); isList && ok {
		return Requirements{r}, nil
	}
	if isList && len(l) > 1 && l[0] == "and" {
		var out Requirements
		all := true
		for _, x := range l[1:] {
			r, err := convertRequirements(x)
			if err != nil {
				return nil, err
			}
			if len(r) == 0 { // Python's all() stops at the first empty result
				all = false
				break
			}
			out = append(out, r[0])
		}
		if all {
			return out, nil
		}
	}
	if isList && len(l) == 0 {
		return Requirements{}, nil
	}
	return nil, ErrMalformedRequirements(pyStr(v))
}

// comparison recognises ["<op>", "$<key>", "<value>"]. A key holding a space
// is refused too: Blazar splits "key op value" on spaces further on and would
// misread it.
func comparison(l []any) (Requirement, bool) {
	if len(l) != 3 {
		return Requirement{}, false
	}
	op, ok0 := l[0].(string)
	key, ok1 := l[1].(string)
	value, ok2 := l[2].(string)
	if !ok0 || !ok1 || !ok2 || !slices.Contains(filterOps, op) ||
		len(key) < 2 || key[0] != '$' || strings.Contains(key, " ") || value == "" {
		return Requirement{}, false
	}
	if op == "=" {
		op = "=="
		l[0] = "=="
	}
	return Requirement{Key: key[1:], Op: op, Value: value}, true
}

// A Host is what a filter and the host choice read of an enrolled host.
//
// Columns are the computehosts columns as text (see HostColumns; the numeric
// ones in decimal); a column that is absent is SQL NULL. Capabilities are the
// extra capabilities, key → value as stored (always a string). Reservable is
// the monitors' flag: only reservable hosts are chosen for a new allocation.
type Host struct {
	ID           string
	Columns      map[string]string
	Capabilities map[string]string
	Reservable   bool
}

// HostColumns are the keys a filter compares with a computehosts column
// rather than an extra capability (a capability of the same name is not
// consulted by a filter, though the API shows it over the column). The
// boolean reservable is the integer 0 or 1, as SQLite stores it; it is read
// from Host.Reservable.
var HostColumns = []string{
	"id", "vcpus", "cpu_info", "hypervisor_type", "hypervisor_version", "hypervisor_hostname",
	"service_name", "memory_mb", "local_gb", "status", "availability_zone", "trust_id",
	"reservable", "created_at", "updated_at",
}

// numericColumns are the INTEGER columns: compared as numbers with a value
// that reads as one.
var numericColumns = map[string]bool{
	"vcpus": true, "hypervisor_version": true, "memory_mb": true, "local_gb": true, "reservable": true,
}

// IsHostColumn reports whether a filter key names a computehosts column.
func IsHostColumn(key string) bool { return slices.Contains(HostColumns, key) }

// Match reports whether the host satisfies every requirement.
//
// A column compares as SQL (SQLite, the peer's database) would: value "null"
// is IS NULL for == and IS NOT NULL for != (and matches nothing with another
// operator); a NULL column matches nothing else; an INTEGER column compares
// numerically with a value that reads as a number and is below any other
// text; a text column compares as bytes. An extra capability compares as
// Python strings ("10" < "9"), and a host without it does not match.
func (rs Requirements) Match(h Host) bool {
	for _, r := range rs {
		if !r.match(h) {
			return false
		}
	}
	return true
}

func (r Requirement) match(h Host) bool {
	if !IsHostColumn(r.Key) {
		have, ok := h.Capabilities[r.Key]
		return ok && compare(strings.Compare(have, r.Value), r.Op)
	}
	have, present := h.Columns[r.Key]
	if r.Key == "reservable" {
		have, present = "0", true
		if h.Reservable {
			have = "1"
		}
	}
	if r.Value == "null" {
		switch r.Op {
		case "==":
			return !present
		case "!=":
			return present
		}
		return false
	}
	if !present {
		return false
	}
	if numericColumns[r.Key] {
		hv, ok1 := sqlNumber(have)
		v, ok2 := sqlNumber(r.Value)
		switch {
		case ok1 && ok2:
			c := 0
			if hv < v {
				c = -1
			} else if hv > v {
				c = 1
			}
			return compare(c, r.Op)
		case ok1:
			return compare(-1, r.Op) // SQLite: a number sorts before any text
		}
	}
	return compare(strings.Compare(have, r.Value), r.Op)
}

var sqlNumberRE = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)

// sqlNumber reads text as SQLite's numeric affinity does: a decimal integer
// or real literal, white space around it allowed.
func sqlNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if !sqlNumberRE.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// compare applies op to the result c of comparing the host's side with the
// filter's value.
func compare(c int, op string) bool {
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// UnknownCapabilities lists, in filter order and once each, the keys that
// are neither a host column nor a known extra capability name (known: every
// resource property name the hosts have ever had; Blazar never forgets one).
func UnknownCapabilities(rs Requirements, known map[string]bool) []string {
	var out []string
	for _, r := range rs {
		if !IsHostColumn(r.Key) && !known[r.Key] && !slices.Contains(out, r.Key) {
			out = append(out, r.Key)
		}
	}
	return out
}

// CheckCapabilities refuses a filter naming an unknown extra capability
// (ErrUnknownCapability for the first one), as Blazar does before choosing
// hosts.
func CheckCapabilities(rs Requirements, known map[string]bool) error {
	if u := UnknownCapabilities(rs, known); len(u) > 0 {
		return ErrUnknownCapability(u[0])
	}
	return nil
}
