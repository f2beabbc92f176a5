package store

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// bulkState builds an FSM holding n load balancers shaped as the API stores
// them (ids, projects, VIP fields, provider, statuses, tags), one in ten with
// a listener, a pool and a member, applied in Raft entries of 512 creates.
func bulkState(tb testing.TB, n int) *FSM {
	tb.Helper()
	f := NewFSM()
	rng := uuid.NewSHA1(uuid.NameSpaceOID, []byte("keel"))
	var cmds []*storepb.Command
	idx := uint64(1)
	flush := func() {
		data, err := proto.Marshal(&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: 1})
		if err != nil {
			tb.Fatal(err)
		}
		out := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: data})
		for _, r := range out.([]*storepb.CommandResult) {
			if r.Code != storepb.CommandResult_OK {
				tb.Fatalf("bulk create: %v", r)
			}
		}
		idx++
		cmds = cmds[:0]
	}
	for i := 0; i < n; i++ {
		id := uuid.NewSHA1(rng, []byte(fmt.Sprint(i))).String()
		project := fmt.Sprintf("%032x", i%17)
		lb := &storepb.LoadBalancer{Id: id, ProjectId: project, Name: fmt.Sprint("bench-", i), AdminStateUp: true,
			ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", VipSubnetId: "08dce793-daef-411d-a896-d389cd45b1ea",
			VipNetworkId: "d3f2a1c8-0000-4000-8000-000000000001", Provider: "amphora", Topology: "SINGLE",
			Tags: []string{"bench"}, CreatedAt: int64(1_700_000_000_000 + i*7%1000), UpdatedAt: int64(1_700_000_000_000 + i)}
		w := &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: lb}
		if i%10 == 0 {
			w.Listeners = []*storepb.Listener{{Id: id[:30] + "-lst01", LoadbalancerId: id, ProjectId: project,
				Protocol: "HTTP", ProtocolPort: 80, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", AdminStateUp: true}}
			w.Pools = []*storepb.Pool{{Id: id[:30] + "-pool1", LoadbalancerId: id, ProjectId: project, Protocol: "HTTP",
				LbAlgorithm: "ROUND_ROBIN", ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"}}
			w.Members = []*storepb.Member{{Id: id[:30] + "-mem01", LoadbalancerId: id, PoolId: id[:30] + "-pool1",
				ProjectId: project, Address: "10.0.0.1", ProtocolPort: 8080, Weight: 1}}
		}
		cmds = append(cmds, &storepb.Command{RequestId: "req-" + id, DeadlineUnixMs: 2, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: w}}})
		if len(cmds) == 512 {
			flush()
		}
	}
	if len(cmds) > 0 {
		flush()
	}
	return f
}

func persisted(tb testing.TB, f *FSM) []byte {
	tb.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		tb.Fatal(err)
	}
	return sink.Bytes()
}

// tableRows lists a table's rows in the order of one of its indexes.
func tableRows[T Entity](t *Table[T]) (byID, byCreated, byProject []T) {
	t.All(func(x T) bool { byID = append(byID, x); return true })
	t.created.Scan(func(x T) bool { byCreated = append(byCreated, x); return true })
	t.projectCreated.Scan(func(x T) bool { byProject = append(byProject, x); return true })
	return
}

func sameTable[T interface {
	Entity
	proto.Message
}](t *testing.T, name string, a, b *Table[T]) {
	t.Helper()
	ai, ac, ap := tableRows(a)
	bi, bc, bp := tableRows(b)
	for i, pair := range [][2][]T{{ai, bi}, {ac, bc}, {ap, bp}} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("%s index %d: %d rows before, %d after restore", name, i, len(pair[0]), len(pair[1]))
		}
		for j := range pair[0] {
			if !proto.Equal(pair[0][j], pair[1][j]) {
				t.Fatalf("%s index %d row %d: %v before, %v after restore", name, i, j, pair[0][j], pair[1][j])
			}
		}
	}
	for ix := range a.exact {
		if a.exact[ix].Len() != b.exact[ix].Len() {
			t.Fatalf("%s index %s: %d entries before, %d after restore", name, ix, a.exact[ix].Len(), b.exact[ix].Len())
		}
	}
}

// A snapshot of a large state restores to the same tables: every row, every
// index in the same order, each tree whole, the counters and the remembered
// requests.
func TestSnapshotRoundTripLarge(t *testing.T) {
	n := 50000
	if testing.Short() {
		n = 5000
	}
	f := bulkState(t, n)
	data := persisted(t, f)
	g := NewFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	a, b := f.State().Current(), g.State().Current()
	sameTable(t, "loadbalancers", a.LoadBalancers, b.LoadBalancers)
	sameTable(t, "listeners", a.Listeners, b.Listeners)
	sameTable(t, "pools", a.Pools, b.Pools)
	sameTable(t, "members", a.Members, b.Members)
	if a.LoadBalancers.Len() != n || a.Members.Len() != n/10 {
		t.Fatalf("built %d load balancers, %d members", a.LoadBalancers.Len(), a.Members.Len())
	}
	ids, _, _ := tableRows(a.LoadBalancers)
	for i := 0; i < len(ids); i += 97 {
		if id := ids[i].Id; !proto.Equal(a.Tree(id), b.Tree(id)) {
			t.Fatalf("tree %s differs after restore", id)
		}
	}
	// A child row shares its load balancer's Id string (canonicalLB), written
	// and restored alike.
	for _, st := range []*State{a, b} {
		st.Members.All(func(m *storepb.Member) bool {
			if lb := st.LoadBalancer(m.LoadbalancerId); unsafe.StringData(lb.Id) != unsafe.StringData(m.LoadbalancerId) {
				t.Fatalf("member %s holds its own copy of load balancer id %s", m.Id, lb.Id)
			}
			return true
		})
	}
	if f.lastVersion != g.lastVersion || f.clock != g.clock || f.requests.len() != g.requests.len() {
		t.Fatalf("counters: version %d/%d clock %d/%d requests %d/%d", f.lastVersion, g.lastVersion,
			f.clock, g.clock, f.requests.len(), g.requests.len())
	}
	if st := g.State().SnapshotStats(); st.RestoredRecords == 0 || st.RestoredIndex != f.State().AppliedIndex() {
		t.Fatalf("restore figures: %+v", st)
	}
	// The restored state writes on: a snapshot of it is the same stream.
	if again := persisted(t, g); !bytes.Equal(again, data) {
		t.Fatalf("a snapshot of the restored state differs (%d bytes, was %d)", len(again), len(data))
	}
}

// cpuTime is this process's user and system CPU time so far: on a shared
// machine it varies less than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkSnapshotPersist(b *testing.B) {
	f := bulkState(b, benchRows(b))
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		data := persisted(b, f)
		b.SetBytes(int64(len(data)))
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// benchRows is how many load balancers the snapshot benchmarks store: 100k, or
// KEEL_BENCH_LBS (e.g. 1000000 to time a 1M restore without a running node).
func benchRows(tb testing.TB) int {
	if s := os.Getenv("KEEL_BENCH_LBS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			tb.Fatalf("KEEL_BENCH_LBS=%q: want a positive count", s)
		}
		return n
	}
	return 100000
}

func BenchmarkSnapshotRestore(b *testing.B) {
	for _, pause := range []bool{true, false} {
		b.Run(fmt.Sprintf("gc-paused=%v", pause), func(b *testing.B) {
			data := persisted(b, bulkState(b, benchRows(b)))
			defer func(was bool) { gcPause.off = was }(gcPause.off)
			gcPause.off = pause
			b.SetBytes(int64(len(data)))
			b.ResetTimer() // building and writing the state is not the restore
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runtime.GC() // the last iteration's tables: a node restores into an empty heap
				start := cpuTime()
				b.StartTimer()
				g := NewFSM()
				if err := g.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += cpuTime() - start
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// BenchmarkLiveHeapPerLoadBalancer reports the live heap 100k load balancers
// (each with the amphora row the noop driver records) cost, restored from a
// snapshot as a restarted node holds them.
func BenchmarkLiveHeapPerLoadBalancer(b *testing.B) {
	const n = 100000
	f := NewFSM()
	var cmds []*storepb.Command
	for i := 0; i < n; i++ {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(i))).String()
		lb := &storepb.LoadBalancer{Id: id, ProjectId: "default", Name: fmt.Sprint("bench-", i), AdminStateUp: true,
			ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", VipSubnetId: "08dce793-daef-411d-a896-d389cd45b1ea",
			Provider: "amphora", Topology: "SINGLE", Tags: []string{"bench"}, CreatedAt: int64(i)}
		amp := &storepb.Amphora{Id: uuid.NewSHA1(uuid.NameSpaceURL, []byte(id)).String(), ProjectId: "default",
			LoadbalancerId: id, Role: "STANDALONE", Status: "ALLOCATED", CreatedAt: int64(i)}
		cmds = append(cmds, &storepb.Command{RequestId: "r" + id, DeadlineUnixMs: 2, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: lb, Amphorae: []*storepb.Amphora{amp}}}}})
	}
	data, _ := proto.Marshal(&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: 1})
	cmds = nil
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
	snap := persisted(b, f)
	f, data = nil, nil
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g := NewFSM()
		if err := g.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/lb")
		runtime.KeepAlive(g)
	}
}

// BenchmarkApplyCreates times the FSM applying load balancer creates (in Raft
// entries of 512, with a listener, pool and member for one in ten), as a
// node's apply loop does under a create load.
func BenchmarkApplyCreates(b *testing.B) {
	const n = 100000
	for i := 0; i < b.N; i++ {
		bulkState(b, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/create")
}

// BenchmarkApplyProviderSteps times the FSM decoding and applying provider steps
// (each load balancer's PENDING_CREATE to ACTIVE with its amphora record, 16 to an
// entry) sent as the whole load balancer row or as its statuses only
// (load_balancer_status), and reports the bytes each step takes in the log.
func BenchmarkApplyProviderSteps(b *testing.B) {
	const n = 20000
	for _, statusesOnly := range []bool{false, true} {
		name := "whole-row"
		if statusesOnly {
			name = "statuses"
		}
		b.Run(name, func(b *testing.B) {
			var entryBytes int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f := NewFSM()
				var creates, steps [][]byte
				var cmds []*storepb.Command
				idx := uint64(1)
				batch := func(into *[][]byte) {
					data, err := (&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: 1}).MarshalVT()
					if err != nil {
						b.Fatal(err)
					}
					*into, cmds = append(*into, data), cmds[:0]
				}
				lbs := make([]*storepb.LoadBalancer, n)
				for j := range lbs {
					id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("step-", j))).String()
					lbs[j] = &storepb.LoadBalancer{Id: id, ProjectId: "default", Name: fmt.Sprint("bench-", j), AdminStateUp: true,
						ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE", VipAddress: fmt.Sprintf("10.%d.%d.%d", j>>16, (j>>8)&255, j&255),
						VipPortId: id[:24] + "57a10ed6d655", VipSubnetId: "08dce793-daef-411d-a896-d389cd45b1ea",
						VipNetworkId: "9467e51f-7dce-582f-ac04-f59cd162e348", Provider: "amphora", Topology: "SINGLE",
						Tags: []string{"bench"}, CreatedAt: int64(1_796_155_612_967_044 + j)}
					cmds = append(cmds, &storepb.Command{RequestId: "req-" + id, DeadlineUnixMs: 2, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
						Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: lbs[j]}}}})
					if len(cmds) == 16 {
						batch(&creates)
					}
				}
				for _, data := range creates {
					for _, r := range f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: data}).([]*storepb.CommandResult) {
						if r.Code != storepb.CommandResult_OK {
							b.Fatalf("create: %v", r)
						}
					}
					idx++
				}
				for _, lb := range lbs {
					cur := f.State().LoadBalancer(lb.Id)
					next := cur.CloneVT()
					next.ProvisioningStatus, next.UpdatedAt = "ACTIVE", cur.CreatedAt+100_000
					w := &storepb.TreeWrite{LoadBalancerId: lb.Id, ExpectedVersion: cur.Version, LoadBalancer: next,
						Amphorae: []*storepb.Amphora{{Id: uuid.NewSHA1(uuid.NameSpaceOID, []byte(lb.Id)).String(), ProjectId: "default",
							LoadbalancerId: lb.Id, ComputeId: "809bd08d-ce88-4a26-a9e7-bd6e9f7dd1e0", LbNetworkIp: "172.31.4.131",
							VrrpIp: "172.26.210.194", HaIp: lb.VipAddress, VrrpPortId: "b1b4cd3b-966a-4cf0-9962-b12cca35ed0c",
							HaPortId: lb.VipPortId, CertExpiration: 1859227613068754, Role: "STANDALONE", Status: "ALLOCATED",
							VrrpId: 1, CreatedAt: next.UpdatedAt, UpdatedAt: next.UpdatedAt}}}
					if statusesOnly {
						w.LoadBalancerStatus, w.LoadBalancer = storepb.StatusChangeOf(cur, next), nil
					}
					cmds = append(cmds, &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
						Intent: storepb.TreeTransaction_COMPLETE_PROVISIONING, Write: w}}})
					if len(cmds) == 16 {
						batch(&steps)
					}
				}
				entryBytes = 0
				for _, data := range steps {
					entryBytes += len(data)
				}
				b.StartTimer()
				for _, data := range steps {
					for _, r := range f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: data}).([]*storepb.CommandResult) {
						if r.Code != storepb.CommandResult_OK {
							b.Fatalf("provider step: %v", r)
						}
					}
					idx++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/step")
			b.ReportMetric(float64(entryBytes)/n, "B/step")
		})
	}
}
