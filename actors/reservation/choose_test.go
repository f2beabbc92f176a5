package reservation

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func win(start, end string) Window { return Window{at(start), at(end)} }

func TestOverlaps(t *testing.T) {
	for _, c := range []struct {
		a, b     Window
		cleaning time.Duration
		want     bool
	}{
		{win("2026-01-01 10:00:00", "2026-01-01 11:00:00"), win("2026-01-01 11:00:00", "2026-01-01 12:00:00"), 0, false}, // back to back
		{win("2026-01-01 11:00:00", "2026-01-01 12:00:00"), win("2026-01-01 10:00:00", "2026-01-01 11:00:00"), 0, false},
		{win("2026-01-01 10:00:00", "2026-01-01 11:00:01"), win("2026-01-01 11:00:00", "2026-01-01 12:00:00"), 0, true},
		{win("2026-01-01 10:00:00", "2026-01-01 12:00:00"), win("2026-01-01 10:30:00", "2026-01-01 11:00:00"), 0, true},
		// cleaning_time widens: back to back is too close with 10 minutes.
		{win("2026-01-01 10:00:00", "2026-01-01 11:00:00"), win("2026-01-01 11:00:00", "2026-01-01 12:00:00"), 10 * time.Minute, true},
		{win("2026-01-01 10:00:00", "2026-01-01 11:00:00"), win("2026-01-01 11:10:00", "2026-01-01 12:00:00"), 10 * time.Minute, false},
		{win("2026-01-01 11:10:00", "2026-01-01 12:00:00"), win("2026-01-01 10:00:00", "2026-01-01 11:00:00"), 10 * time.Minute, false},
		{win("2026-01-01 11:09:59", "2026-01-01 12:00:00"), win("2026-01-01 10:00:00", "2026-01-01 11:00:00"), 10 * time.Minute, true},
	} {
		if got := Overlaps(c.a, c.b, c.cleaning); got != c.want {
			t.Errorf("%v / %v cleaning %v: %v, want %v", c.a, c.b, c.cleaning, got, c.want)
		}
	}
}

// inventory builds hosts h1..hn, reservable unless named in notReservable.
func inventory(n int, notReservable ...string) []Host {
	var hs []Host
	for i := 1; i <= n; i++ {
		id := "h" + string(rune('0'+i))
		hs = append(hs, Host{ID: id, Reservable: !slices.Contains(notReservable, id),
			Columns: map[string]string{"hypervisor_hostname": "compute-" + id[1:]}, Capabilities: map[string]string{}})
	}
	return hs
}

// busyMap is a busy function over fixed allocations.
func busyMap(m map[string][]Window) func(string) []Window {
	return func(id string) []Window { return m[id] }
}

func TestChooseHosts(t *testing.T) {
	lease := win("2026-01-01 10:00:00", "2026-01-01 11:00:00")
	before := win("2026-01-01 09:00:00", "2026-01-01 10:00:00")
	during := win("2026-01-01 10:30:00", "2026-01-01 12:00:00")
	later := win("2026-01-02 10:00:00", "2026-01-02 11:00:00")
	onlyH1, _ := ParseRequirements(`["==", "$hypervisor_hostname", "compute-1"]`)
	for _, c := range []struct {
		name     string
		hosts    []Host
		busy     map[string][]Window
		min, max int
		cleaning time.Duration
		filter   Requirements
		exclude  map[string]bool
		want     string // ids, or the refusal
	}{
		{name: "first max of the free ones", hosts: inventory(3), min: 1, max: 2, want: "h1 h2"},
		{name: "as many as there are up to max", hosts: inventory(3), min: 1, max: 5, want: "h1 h2 h3"},
		{name: "not reservable is never chosen", hosts: inventory(3, "h1"), min: 1, max: 1, want: "h2"},
		{name: "filter", hosts: inventory(3), min: 1, max: 3, filter: onlyH1, want: "h1"},
		{name: "filter matches nothing", hosts: inventory(3), min: 1, max: 3,
			filter: Requirements{{Key: "hypervisor_hostname", Op: "==", Value: "x"}}, want: "409 Not enough hosts available"},
		{name: "overlap", hosts: inventory(1), busy: map[string][]Window{"h1": {during}}, min: 1, max: 1,
			want: "409 Not enough hosts available"},
		{name: "back to back is allowed", hosts: inventory(1), busy: map[string][]Window{"h1": {before}}, min: 1, max: 1,
			want: "h1"},
		{name: "cleaning time makes back to back overlap", hosts: inventory(1), busy: map[string][]Window{"h1": {before}},
			cleaning: time.Minute, min: 1, max: 1, want: "409 Not enough hosts available"},
		// Blazar's preference: never-allocated hosts alone reach min, so the
		// hosts allocated elsewhere (free now) are not taken even though max
		// would allow them.
		{name: "never-allocated preference", hosts: inventory(3),
			busy: map[string][]Window{"h1": {later}, "h2": {later}}, min: 1, max: 3, want: "h3"},
		{name: "allocated-but-free first when fresh ones are too few", hosts: inventory(3),
			busy: map[string][]Window{"h1": {later}, "h3": {later}}, min: 2, max: 3, want: "h1 h3 h2"},
		{name: "allocated-but-free fill up to max only", hosts: inventory(3),
			busy: map[string][]Window{"h1": {later}, "h3": {later}}, min: 2, max: 2, want: "h1 h3"},
		{name: "excluded", hosts: inventory(3), exclude: map[string]bool{"h1": true}, min: 1, max: 1, want: "h2"},
		{name: "min 0 may be empty", hosts: inventory(1), busy: map[string][]Window{"h1": {during}}, min: 0, max: 1, want: ""},
		{name: "min 0 takes fresh ones only", hosts: inventory(2), busy: map[string][]Window{"h1": {later}}, min: 0, max: 2,
			want: "h2"},
	} {
		got, err := ChooseHosts(c.hosts, Windows(busyMap(c.busy)), HostRequest{Window: lease, Cleaning: c.cleaning,
			Min: c.min, Max: c.max, Filter: c.filter, Exclude: c.exclude})
		out := errText(err)
		if err == nil {
			out = strings.Join(got, " ")
		}
		if out != c.want {
			t.Errorf("%s: %q, want %q", c.name, out, c.want)
		}
	}
}

func TestReallocate(t *testing.T) {
	old := win("2026-01-01 10:00:00", "2026-01-01 12:00:00")
	inside := win("2026-01-01 10:30:00", "2026-01-01 11:00:00")
	longer := win("2026-01-01 10:00:00", "2026-01-01 13:00:00")
	other := win("2026-01-01 12:30:00", "2026-01-01 14:00:00") // another lease, after the old end
	far := win("2026-02-01 10:00:00", "2026-02-01 11:00:00")
	onlyH1, _ := ParseRequirements(`["==", "$hypervisor_hostname", "compute-1"]`)
	for _, c := range []struct {
		name     string
		status   string
		hosts    []string
		newW     Window
		min, max int
		filter   Requirements
		busy     map[string][]Window
		want     string // "keep|remove|add", or the refusal
	}{
		{name: "shorter, nothing changes", status: ReservationPending, hosts: []string{"h1"}, newW: inside, min: 1, max: 1,
			want: "h1||"},
		{name: "longer and free", status: ReservationPending, hosts: []string{"h1"}, newW: longer, min: 1, max: 1,
			busy: map[string][]Window{"h2": {far}}, want: "h1||"},
		{name: "longer, collides: pending moves to another host", status: ReservationPending, hosts: []string{"h1"},
			newW: longer, min: 1, max: 1, busy: map[string][]Window{"h1": {other}}, want: "|h1|h2"},
		{name: "longer, collides: active cannot lose a host", status: ReservationActive, hosts: []string{"h1"},
			newW: longer, min: 1, max: 1, busy: map[string][]Window{"h1": {other}}, want: "409 Not enough hosts available"},
		{name: "grow max: active gains hosts", status: ReservationActive, hosts: []string{"h1"}, newW: old,
			min: 1, max: 3, want: "h1||h2 h3"},
		{name: "shrink max: the first ones go", status: ReservationPending, hosts: []string{"h1", "h2", "h3"}, newW: old,
			min: 1, max: 1, want: "h3|h1 h2|"},
		{name: "shrink max: active cannot", status: ReservationActive, hosts: []string{"h1", "h2"}, newW: old,
			min: 1, max: 1, want: "409 Not enough hosts available"},
		{name: "filter no longer matches", status: ReservationPending, hosts: []string{"h2"}, newW: old,
			min: 1, max: 1, filter: onlyH1, want: "|h2|h1"},
		{name: "nothing else free", status: ReservationPending, hosts: []string{"h1"}, newW: longer, min: 1, max: 1,
			busy: map[string][]Window{"h1": {other}, "h2": {other}, "h3": {other}}, want: "409 Not enough hosts available"},
		// kept already reaches min: the extra ones are asked with min 0, so
		// only never-allocated hosts are added (Blazar's preference).
		{name: "grow max with allocated-elsewhere hosts", status: ReservationPending, hosts: []string{"h1"}, newW: old,
			min: 1, max: 3, busy: map[string][]Window{"h2": {far}}, want: "h1||h3"},
	} {
		plan, err := Reallocate(Reallocation{Status: c.status, Hosts: c.hosts, Old: old, New: c.newW,
			Min: c.min, Max: c.max, Filter: c.filter}, inventory(3), busyMap(c.busy))
		out := errText(err)
		if err == nil {
			out = strings.Join(plan.Keep, " ") + "|" + strings.Join(plan.Remove, " ") + "|" + strings.Join(plan.Add, " ")
		}
		if out != c.want {
			t.Errorf("%s: %q, want %q", c.name, out, c.want)
		}
	}
}
