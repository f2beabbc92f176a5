package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/actors/reservation"
	"keel/store"
	"keel/store/storepb"
)

// allocationSearch times a new lease's host choice (actors.ChooseAllocations,
// what the lease grain runs before it proposes) on a large inventory held by a
// real FSM in this process: hosts hosts in racks of 20, each with perHost
// allocations in distinct one-hour windows (leases of 10 hosts each), so
// hosts×perHost allocations in all. No Raft, no network: the search alone.
func allocationSearch(hosts, perHost int) string {
	fsm := store.NewFSM()
	index := uint64(0)
	apply := func(cmds []*storepb.Command) {
		data, err := proto.Marshal(&storepb.CommandBatch{Commands: cmds})
		if err != nil {
			panic(err)
		}
		index++
		out := fsm.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data})
		for _, r := range out.([]*storepb.CommandResult) {
			if r.Code != storepb.CommandResult_OK {
				panic(fmt.Sprintf("allocation-search setup: %v", r))
			}
		}
	}
	setup := time.Now()
	ids := make([]string, hosts)
	var batch []*storepb.Command
	flush := func() {
		if len(batch) > 0 {
			apply(batch)
			batch = batch[:0]
		}
	}
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		h := &storepb.Host{Id: ids[i], Name: fmt.Sprintf("host-%05d", i), HypervisorHostname: fmt.Sprintf("host-%05d", i),
			ServiceName: fmt.Sprintf("host-%05d", i), HypervisorType: "baremetal", Vcpus: int64(8 << (i % 3)), MemoryMb: 65536,
			Reservable: true, ExtraCapabilities: map[string]string{"rack": fmt.Sprintf("r%02d", i/20%50)},
			CreatedAtUs: int64(i + 1), UpdatedAtUs: int64(i + 1)}
		batch = append(batch, &storepb.Command{Op: &storepb.Command_HostOperation{HostOperation: &storepb.HostOperation{
			Op: storepb.HostOperation_PUT, HostId: h.Id, Host: h}}})
		if len(batch) == 500 {
			flush()
		}
	}
	flush()
	base := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	slot := func(k int) (int64, int64) {
		s := base.Add(time.Duration(k) * time.Hour)
		return s.UnixMilli(), s.Add(time.Hour).UnixMilli()
	}
	const perLease = 10
	leases := 0
	for g := 0; g+perLease <= hosts; g += perLease {
		for k := 0; k < perHost; k++ {
			start, end := slot(k)
			id := fmt.Sprintf("10000000-0000-4000-8000-%012d", leases)
			res := id[:8] + "-r"
			l := &storepb.Lease{Id: id, Name: "bench", ProjectId: "bench", StartMs: start, EndMs: end, Status: "PENDING",
				Reservations: []*storepb.Reservation{{Id: res, LeaseId: id, ResourceType: "physical:host", Status: "pending",
					Min: perLease, Max: perLease, BeforeEnd: "default"}},
				Events: []*storepb.LeaseEvent{
					{Id: id + "-s", LeaseId: id, EventType: storepb.EventStartLease, TimeMs: start, Status: storepb.EventUndone},
					{Id: id + "-e", LeaseId: id, EventType: storepb.EventEndLease, TimeMs: end, Status: storepb.EventUndone}}}
			l.Reservations[0].Id = fmt.Sprintf("20000000-0000-4000-8000-%012d", leases)
			var puts []*storepb.Allocation
			for _, h := range ids[g : g+perLease] {
				puts = append(puts, &storepb.Allocation{HostId: h, ReservationId: l.Reservations[0].Id, LeaseId: id,
					StartMs: start, EndMs: end})
			}
			batch = append(batch, &storepb.Command{Op: &storepb.Command_LeaseTransaction{LeaseTransaction: &storepb.LeaseTransaction{
				Intent: storepb.LeaseTransaction_CREATE_LEASE, LeaseId: id, Lease: l, AllocationsPut: puts}}})
			leases++
			if len(batch) == 200 {
				flush()
			}
		}
	}
	flush()
	st := fsm.State().Current()
	allocations := 0
	for _, ha := range st.AllAllocations() {
		allocations += len(ha.Allocations)
	}
	setupTook := time.Since(setup)

	// Each case: a lease body as a user sends it, planned by the rules package as
	// the grain does, then the host choice timed.
	date := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }
	type searchCase struct {
		name, body string
		want       string // "ok" or "409"
	}
	lease := func(start, end time.Time, min, max int, resourceProps string) string {
		b, _ := json.Marshal(map[string]any{"name": "search", "start_date": date(start), "end_date": date(end),
			"reservations": []map[string]any{{"resource_type": "physical:host", "min": min, "max": max,
				"hypervisor_properties": "", "resource_properties": resourceProps}}})
		return string(b)
	}
	free := base.Add(time.Duration(perHost) * time.Hour)
	cases := []searchCase{
		{"1 host, a free hour (every host has allocations)", lease(free, free.Add(time.Hour), 1, 1, ""), "ok"},
		{"10 hosts of one rack (5% of hosts), a free hour", lease(free, free.Add(time.Hour), 10, 10, `["==", "$rack", "r07"]`), "ok"},
		{"100 hosts with 32 vcpus, a free hour", lease(free, free.Add(time.Hour), 100, 100, "") + "", "ok"},
		{"1 host over a busy hour: none free, every host checked", lease(base.Add(3*time.Hour), base.Add(4*time.Hour), 1, 1, ""), "409"},
	}
	cases[2].body = strings.Replace(cases[2].body, `"hypervisor_properties":""`, `"hypervisor_properties":"[\"==\", \"$vcpus\", \"32\"]"`, 1)
	var b strings.Builder
	fmt.Fprintf(&b, "## Allocation search\n\n%d hosts, %d leases holding %d allocations (%d per host, one-hour windows), in one FSM "+
		"(set up in %v). Each row: a lease body planned by `actors/reservation` and its hosts chosen by "+
		"`actors.ChooseAllocations`, as the lease grain does before it proposes; no Raft, no network.\n\n",
		hosts, leases, allocations, perHost, setupTook.Round(time.Millisecond))
	b.WriteString("| search | result | runs | p50 | p99 | max |\n|---|---|---:|---:|---:|---:|\n")
	for _, c := range cases {
		var req reservation.LeaseRequest
		if err := json.Unmarshal([]byte(c.body), &req); err != nil {
			panic(err)
		}
		plan, err := reservation.ValidateCreate(req, time.Now(), 60)
		if err != nil {
			panic(fmt.Sprintf("%s: %v", c.name, err))
		}
		l := &storepb.Lease{Id: "search", StartMs: plan.Start.UnixMilli(), EndMs: plan.End.UnixMilli(),
			Reservations: []*storepb.Reservation{{Id: "search-r"}}}
		var times []time.Duration
		result := ""
		deadline := time.Now().Add(5 * time.Second)
		for i := 0; i < 200 && (i < 5 || time.Now().Before(deadline)); i++ {
			t0 := time.Now()
			puts, err := actors.ChooseAllocations(st, plan, l, 0)
			times = append(times, time.Since(t0))
			switch {
			case err != nil && c.want == "409":
				result = "409 " + err.Error()
			case err != nil:
				panic(fmt.Sprintf("%s: %v", c.name, err))
			default:
				result = fmt.Sprintf("%d hosts", len(puts))
			}
		}
		slices.Sort(times)
		q := func(p float64) time.Duration { return times[min(len(times)-1, int(p*float64(len(times))))] }
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", c.name, result, len(times), ms(q(0.5)), ms(q(0.99)), ms(times[len(times)-1]))
	}
	return b.String()
}
