package reservation

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// decodeLease decodes a body as the HTTP layer does.
func decodeLease(t *testing.T, body string) LeaseRequest {
	t.Helper()
	var req LeaseRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return req
}

const hostRes = `{"resource_type": "physical:host", "min": 1, "max": 1, "hypervisor_properties": "", "resource_properties": ""}`

func TestValidateCreate(t *testing.T) {
	now := at("2026-11-25 05:17:42")
	lease := func(start, end, extra string, res ...string) string {
		return `{"name": "lease_foo", "start_date": "` + start + `", "end_date": "` + end + `"` + extra +
			`, "reservations": [` + strings.Join(res, ", ") + `]}`
	}
	resWith := func(fields string) string {
		return `{"resource_type": "physical:host", "hypervisor_properties": "", "resource_properties": ""` + fields + `}`
	}
	for _, c := range []struct {
		name, body string
		want       string // the plan in short, or the refusal
	}{
		{"api-ref sample", `{"name": "lease_foo", "start_date": "2027-2-21 20:00", "end_date": "2027-2-24 20:00",
			"before_end_date": "2027-02-24 19:00", "events": [], "reservations": [{"hypervisor_properties":
			"[\"==\", \"$hypervisor_hostname\", \"compute\"]", "max": 1, "min": 1, "resource_type": "physical:host",
			"resource_properties": "", "before_end": "default"}]}`,
			"lease_foo 2027-02-21 20:00:00..2027-02-24 20:00:00 be=2027-02-24 19:00:00 [1-1 [{hypervisor_hostname == compute}] default]"},
		{"now", lease("now", "2026-11-25 06:00", "", hostRes),
			"lease_foo 2026-11-25 05:17:42..2026-11-25 06:00:00 be=2026-11-25 05:17:42 [1-1 [] default]"},
		{"start in the current minute", lease("2026-11-25 05:17", "2026-11-25 09:00", "", hostRes),
			"lease_foo 2026-11-25 05:17:00..2026-11-25 09:00:00 be=2026-11-25 08:00:00 [1-1 [] default]"},
		{"no reservations", lease("2026-12-01 00:00", "2026-12-02 00:00", ""),
			"lease_foo 2026-12-01 00:00:00..2026-12-02 00:00:00 be=2026-12-01 23:00:00"},
		{"before_end_date null and empty", lease("2026-12-01 00:00", "2026-12-02 00:00", `, "before_end_date": null`),
			"lease_foo 2026-12-01 00:00:00..2026-12-02 00:00:00 be=2026-12-01 23:00:00"},
		{"before_end snapshot and ''", lease("2026-12-01 00:00", "2026-12-02 00:00", "",
			resWith(`, "min": 1, "max": 2, "before_end": "snapshot"`), resWith(`, "min": 2, "max": 2, "before_end": ""`)),
			"lease_foo 2026-12-01 00:00:00..2026-12-02 00:00:00 be=2026-12-01 23:00:00 [1-2 [] snapshot] [2-2 [] ]"},
		{"seconds", lease("2026-11-25 05:18:05", "2026-11-25 05:18:35", "", hostRes),
			"lease_foo 2026-11-25 05:18:05..2026-11-25 05:18:35 be=2026-11-25 05:18:05 [1-1 [] default]"},

		{"missing several", `{"start_date": "now"}`, "400 Missing parameter name, end_date"},
		{"null is missing", `{"name": null, "start_date": "now", "end_date": "2026-12-01 00:00"}`, "400 Missing parameter name"},
		{"missing resource_type before dates", lease("bad", "bad", "", `{"min": 1}`), "400 Missing parameter resource_type"},
		{"bad start", lease("2026-11-25T06:00", "2026-11-25 07:00", "", hostRes),
			"400 2026-11-25T06:00 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"bad end", lease("now", "tomorrow", "", hostRes), "400 tomorrow is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"date not a string", `{"name": "x", "start_date": 5, "end_date": "2026-12-01 00:00"}`,
			"400 5 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"name not a string", `{"name": 5, "start_date": "now", "end_date": "2026-12-01 00:00"}`, "400 Malformed parameter name"},
		{"start in the past", lease("2026-11-25 05:16", "2026-11-25 07:00", "", hostRes),
			"400 Start date must be later than current date"},
		{"end equals start", lease("2026-11-25 06:00", "2026-11-25 06:00", "", hostRes),
			"400 End date must be later than start date."},
		{"end before start", lease("2026-11-25 06:00", "2026-11-25 05:59", "", hostRes),
			"400 End date must be later than start date."},
		{"unknown resource type", lease("now", "2026-11-25 07:00", "", `{"resource_type": "foo:bar"}`),
			"400 The foo:bar resource type is not supported"},
		{"virtual:instance", lease("now", "2026-11-25 07:00", "", `{"resource_type": "virtual:instance"}`),
			"400 The virtual:instance resource type is not supported by keel yet; only physical:host is"},
		{"missing min", lease("now", "2026-11-25 07:00", "", resWith(`, "max": 1`)), "400 Missing parameter min"},
		{"missing max", lease("now", "2026-11-25 07:00", "", resWith(`, "min": 1`)), "400 Missing parameter max"},
		{"min null", lease("now", "2026-11-25 07:00", "", resWith(`, "min": null, "max": 1`)), "400 Missing parameter min"},
		{"min as a string", lease("now", "2026-11-25 07:00", "", resWith(`, "min": "1", "max": 1`)), "400 Malformed parameter min"},
		{"max as a string", lease("now", "2026-11-25 07:00", "", resWith(`, "min": 1, "max": "2"`)), "400 Malformed parameter max"},
		{"min a float", lease("now", "2026-11-25 07:00", "", resWith(`, "min": 1.0, "max": 1`)), "400 Malformed parameter min"},
		{"min a bool", lease("now", "2026-11-25 07:00", "", resWith(`, "min": true, "max": 1`)), "400 Malformed parameter min"},
		{"min 0", lease("now", "2026-11-25 07:00", "", resWith(`, "min": 0, "max": 1`)),
			"400 Malformed parameter min and max (must be greater than or equal to 1)"},
		{"max -1", lease("now", "2026-11-25 07:00", "", resWith(`, "min": 1, "max": -1`)),
			"400 Malformed parameter min and max (must be greater than or equal to 1)"},
		{"max < min", lease("now", "2026-11-25 07:00", "", resWith(`, "min": 2, "max": 1`)),
			"400 Invalid values for min/max of hosts. Max must be equal to or larger than min."},
		{"missing hypervisor_properties", lease("now", "2026-11-25 07:00", "",
			`{"resource_type": "physical:host", "min": 1, "max": 1, "resource_properties": ""}`),
			"400 Missing parameter hypervisor_properties"},
		{"missing resource_properties", lease("now", "2026-11-25 07:00", "",
			`{"resource_type": "physical:host", "min": 1, "max": 1, "hypervisor_properties": ""}`),
			"400 Missing parameter resource_properties"},
		{"bad before_end", lease("now", "2026-11-25 07:00", "", resWith(`, "min": 1, "max": 1, "before_end": "email"`)),
			"400 Malformed parameter before_end"},
		{"bad filter", lease("now", "2026-11-25 07:00", "", `{"resource_type": "physical:host", "min": 1, "max": 1,
			"hypervisor_properties": "[\"==\", \"$vcpus\", 8]", "resource_properties": ""}`),
			"400 Malformed requirements ['==', '$vcpus', 8]"},
		{"filter not a string", lease("now", "2026-11-25 07:00", "", `{"resource_type": "physical:host", "min": 1, "max": 1,
			"hypervisor_properties": ["==", "$vcpus", "8"], "resource_properties": ""}`),
			"400 Malformed requirements ['==', '$vcpus', '8']"},
		{"before_end_date at the end", lease("2026-12-01 00:00", "2026-12-02 00:00", `, "before_end_date": "2026-12-02 00:00"`),
			"403 Datetime is out of lease limits"},
		{"before_end_date at the start", lease("2026-12-01 00:00", "2026-12-02 00:00", `, "before_end_date": "2026-12-01 00:00"`),
			"403 Datetime is out of lease limits"},
		{"before_end_date malformed", lease("2026-12-01 00:00", "2026-12-02 00:00", `, "before_end_date": "now"`),
			"400 now is an invalid date. Required format: %Y-%m-%d %H:%M"},
	} {
		p, err := ValidateCreate(decodeLease(t, c.body), now, 60)
		got := errText(err)
		if err == nil {
			got = planText(p)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func planText(p Plan) string {
	const f = "2006-01-02 15:04:05"
	s := p.Name + " " + p.Start.Format(f) + ".." + p.End.Format(f)
	if p.BeforeEnd != nil {
		s += " be=" + p.BeforeEnd.Format(f)
	}
	for _, r := range p.Reservations {
		s += fmt.Sprintf(" [%d-%d %s %s]", r.Min, r.Max, fmtReqs(r.Filter), r.BeforeEnd)
	}
	return s
}

// TestBeforeEndEvent: end − minutes_before_end_lease, clamped up to the start;
// 0 minutes: no event.
func TestBeforeEndEvent(t *testing.T) {
	now := at("2026-11-25 05:17:42")
	body := func(start, end string) LeaseRequest {
		return decodeLease(t, `{"name": "l", "start_date": "`+start+`", "end_date": "`+end+`", "reservations": []}`)
	}
	for _, c := range []struct {
		start, end string
		minutes    int
		want       string
	}{
		{"2026-12-01 00:00", "2026-12-01 05:00", 60, "2026-12-01 04:00:00"},
		{"2026-12-01 00:00", "2026-12-01 00:30", 60, "2026-12-01 00:00:00"}, // clamped to the start
		{"2026-12-01 00:00", "2026-12-01 01:00", 60, "2026-12-01 00:00:00"},
		{"2026-12-01 00:00", "2026-12-01 05:00", 0, "none"},
	} {
		p, err := ValidateCreate(body(c.start, c.end), now, c.minutes)
		if err != nil {
			t.Fatal(err)
		}
		got := "none"
		if p.BeforeEnd != nil {
			got = p.BeforeEnd.Format("2006-01-02 15:04:05")
		}
		if got != c.want {
			t.Errorf("%s..%s, %d min: %s, want %s", c.start, c.end, c.minutes, got, c.want)
		}
		if n := len(p.Events()); (c.want == "none") != (n == 2) {
			t.Errorf("%d events", n)
		}
	}
}

func TestPlanEvents(t *testing.T) {
	p, err := ValidateCreate(decodeLease(t, `{"name": "l", "start_date": "2026-12-01 00:00", "end_date": "2026-12-01 05:00"}`),
		at("2026-11-25 05:17:42"), 60)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.Events() {
		got = append(got, e.Type+"@"+e.Time.Format(time.TimeOnly))
	}
	if strings.Join(got, " ") != "start_lease@00:00:00 end_lease@05:00:00 before_end_lease@04:00:00" {
		t.Errorf("%v", got)
	}
	if p.Reservations == nil {
		t.Error("no reservations should be an empty list, not nil")
	}
}
