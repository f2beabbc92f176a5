package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tidwall/btree"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func collectEqual(t *Table[*storepb.LoadBalancer], index, value string) []string {
	var ids []string
	t.Equal(index, value, func(lb *storepb.LoadBalancer) bool { ids = append(ids, lb.Id); return true })
	return ids
}

// TestTableIndexesFollowReplacement checks that replacing an entity moves it in
// every index (including in and out of a partial index) and that a clone taken
// before a write never sees it.
func TestTableIndexesFollowReplacement(t *testing.T) {
	tab := NewTable(loadBalancerSchema)
	for i := 0; i < 100; i++ {
		tab.Put(&storepb.LoadBalancer{Id: fmt.Sprintf("id%03d", i), Name: "n", ProjectId: "p", CreatedAt: int64(i), ProvisioningStatus: "PENDING_CREATE"})
	}
	before := tab.Clone()
	tab.Put(&storepb.LoadBalancer{Id: "id007", Name: "renamed", ProjectId: "q", CreatedAt: 7, ProvisioningStatus: "ACTIVE"})
	tab.Delete("id008")

	if got := len(collectEqual(tab, IndexName, "n")); got != 98 {
		t.Fatalf("name index holds %d entities named n, want 98", got)
	}
	if got := collectEqual(tab, IndexName, "renamed"); len(got) != 1 || got[0] != "id007" {
		t.Fatalf("renamed: %v", got)
	}
	if got := len(collectEqual(tab, IndexProvisioningStatus, "PENDING_CREATE")); got != 98 {
		t.Fatalf("partial index holds %d, want 98", got)
	}
	if got := collectEqual(tab, IndexProvisioningStatus, "ACTIVE"); len(got) != 0 {
		t.Fatalf("partial index holds non-pending entities: %v", got)
	}
	page, _ := List(tab, Query[*storepb.LoadBalancer]{Project: "q"})
	if len(page.Items) != 1 || page.Items[0].Id != "id007" {
		t.Fatalf("project index after move: %v", page.Items)
	}
	if tab.Len() != 99 {
		t.Fatalf("len %d", tab.Len())
	}

	// The clone is a snapshot: untouched by the writes.
	if before.Len() != 100 || before.byID.Len() != before.created.Len() {
		t.Fatalf("clone changed: %d", before.Len())
	}
	if lb, _ := before.Get("id007"); lb.Name != "n" {
		t.Fatalf("clone sees a later write: %v", lb)
	}
	if _, ok := before.Get("id008"); !ok {
		t.Fatal("clone sees a later delete")
	}
	if got := len(collectEqual(before, IndexName, "n")); got != 100 {
		t.Fatalf("clone name index: %d", got)
	}
}

// TestTablePutMatchesRebuild replaces entities at random (keys changed or kept,
// in and out of partial and multi-valued indexes) and checks every index against
// a table built afresh from the final entities: replacing in place must leave
// exactly what unindexing and inserting would.
func TestTablePutMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := NewTable(loadBalancerSchema)
	final := map[string]*storepb.LoadBalancer{}
	statuses := []string{"PENDING_CREATE", "ACTIVE", "PENDING_UPDATE", "ERROR"}
	for i := 0; i < 5000; i++ {
		id := fmt.Sprintf("id%03d", rng.IntN(300))
		if rng.IntN(10) == 0 {
			tab.Delete(id)
			delete(final, id)
			continue
		}
		lb := &storepb.LoadBalancer{Id: id, Name: fmt.Sprintf("n%d", rng.IntN(4)), ProjectId: fmt.Sprintf("p%d", rng.IntN(2)),
			CreatedAt: int64(rng.IntN(3)), ProvisioningStatus: statuses[rng.IntN(len(statuses))],
			FlavorId: []string{"", "f1"}[rng.IntN(2)], VipAddress: fmt.Sprintf("127.0.100.%d", rng.IntN(3))}
		if prev, ok := final[id]; ok && rng.IntN(2) == 0 { // keep every key, change only the status
			c := proto.CloneOf(prev)
			c.ProvisioningStatus = statuses[rng.IntN(len(statuses))]
			lb = c
		}
		tab.Put(lb)
		final[id] = lb
	}
	want := NewTable(loadBalancerSchema)
	for _, lb := range final {
		want.Put(lb)
	}
	sameIndexes(t, tab, want)
}

// sameIndexes fails t unless got's indexes hold what want's do, in order.
func sameIndexes(t *testing.T, got, want *Table[*storepb.LoadBalancer]) {
	t.Helper()
	ids := func(tr byOrder[*storepb.LoadBalancer]) []string {
		var out []string
		tr.Scan(func(lb *storepb.LoadBalancer) bool { out = append(out, lb.Id); return true })
		return out
	}
	if g, w := ids(got.created), ids(want.created); !slices.Equal(g, w) {
		t.Fatalf("created index: %d entries, want %d", len(g), len(w))
	}
	if g, w := ids(got.projectCreated), ids(want.projectCreated); !slices.Equal(g, w) {
		t.Fatalf("project index: %d entries, want %d", len(g), len(w))
	}
	var g, w []string
	got.byID.Scan(func(it idItem) bool { g = append(g, it.id); return true })
	want.byID.Scan(func(it idItem) bool { w = append(w, it.id); return true })
	if !slices.Equal(g, w) {
		t.Fatalf("id index: %d entries, want %d", len(g), len(w))
	}
	exactIDs := func(tr *btree.BTreeG[exactItem]) []string {
		var out []string
		tr.Scan(func(e exactItem) bool { out = append(out, entity[*storepb.LoadBalancer](e.v).Id); return true })
		return out
	}
	for name := range loadBalancerSchema.Exact {
		if g, w := exactIDs(got.exact[name]), exactIDs(want.exact[name]); !slices.Equal(g, w) {
			t.Fatalf("index %s: %v, want %v", name, g, w)
		}
	}
	for name := range loadBalancerSchema.Multi {
		var g, w []string
		got.multi[name].Scan(func(e keyed) bool { g = append(g, e.key+"/"+entity[*storepb.LoadBalancer](e.v).Id); return true })
		want.multi[name].Scan(func(e keyed) bool { w = append(w, e.key+"/"+entity[*storepb.LoadBalancer](e.v).Id); return true })
		if !slices.Equal(g, w) {
			t.Fatalf("multi index %s: %v, want %v", name, g, w)
		}
	}
}

// A restore's bulk load (Table.load: sorted rows, Load at the right edge, rows
// placed by project) builds the same indexes as putting the rows one by one, with
// few projects (placed by offset) and with more than it buckets (sorted).
func TestTableLoadMatchesPut(t *testing.T) {
	for _, projects := range []int{3, 5000} {
		t.Run(fmt.Sprint(projects, "-projects"), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(projects)))
			var rows []*storepb.LoadBalancer
			want := NewTable(loadBalancerSchema)
			for i := 0; i < 6000; i++ {
				lb := &storepb.LoadBalancer{Id: fmt.Sprintf("%08x-%d", rng.Uint32(), i), Name: fmt.Sprintf("n%d", rng.IntN(50)),
					ProjectId: fmt.Sprintf("p%d", rng.IntN(projects)), CreatedAt: int64(rng.IntN(100)),
					ProvisioningStatus: []string{"ACTIVE", "PENDING_CREATE"}[rng.IntN(2)],
					VipSubnetId:        "s", VipAddress: fmt.Sprintf("127.0.%d.%d", rng.IntN(4), rng.IntN(250))}
				rows = append(rows, lb)
				want.Put(lb)
			}
			got := NewTable(loadBalancerSchema)
			var wg sync.WaitGroup
			got.load(rows, &wg)
			wg.Wait()
			if got.Len() != want.Len() {
				t.Fatalf("%d rows loaded, want %d", got.Len(), want.Len())
			}
			sameIndexes(t, got, want)
		})
	}
}

// TestExactIndexUnderHashCollisions makes every value's hash collide, so all of
// an exact index's entries share one run: lookups must still return exactly
// their value's rows, in id order, through inserts, renames and deletes.
func TestExactIndexUnderHashCollisions(t *testing.T) {
	defer func(h func(string) uint64) { valueHash = h }(valueHash)
	valueHash = func(string) uint64 { return 7 }
	rng := rand.New(rand.NewPCG(5, 9))
	tab := NewTable(loadBalancerSchema)
	rows := map[string]*storepb.LoadBalancer{}
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("%04x-%d", rng.IntN(1<<16), rng.IntN(400))
		switch rng.IntN(4) {
		case 0:
			if tab.Delete(id) != (rows[id] != nil) {
				t.Fatalf("delete %s: reported %v", id, rows[id] == nil)
			}
			delete(rows, id)
		default:
			lb := &storepb.LoadBalancer{Id: id, Name: fmt.Sprintf("n%d", rng.IntN(6)), ProvisioningStatus: "ACTIVE"}
			tab.Put(lb)
			rows[id] = lb
		}
	}
	for n := range 7 {
		name := fmt.Sprintf("n%d", n)
		var want []string
		for id, lb := range rows {
			if lb.Name == name {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		var got []string
		tab.Equal(IndexName, name, func(lb *storepb.LoadBalancer) bool { got = append(got, lb.Id); return true })
		if !slices.Equal(got, want) {
			t.Fatalf("name %s: %d rows %v, want %d %v", name, len(got), got, len(want), want)
		}
	}
	if n := tab.exact[IndexName].Len(); n != len(rows) {
		t.Fatalf("name index holds %d entries for %d rows", n, len(rows))
	}
}

// TestReplacedRowsAreCollectable updates every row of a table built in random
// id order, as the provider step does after a burst of creates, and requires
// the replaced versions to become unreachable. With upstream tidwall/btree
// v1.8.2 nearly all of them stayed reachable through arrays that node splits
// share (store/third_party/tidwall-btree/KEEL.md).
func TestReplacedRowsAreCollectable(t *testing.T) {
	const n = 5000
	tb := NewTable(loadBalancerSchema)
	var alive atomic.Int64
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		lb := &storepb.LoadBalancer{Id: ids[i], ProjectId: "p", Name: "lb-" + ids[i], CreatedAt: int64(i + 1),
			ProvisioningStatus: "PENDING_CREATE", VipAddress: fmt.Sprintf("127.1.%d.%d", i/250, i%250+1),
			VipSubnetId: "subnet", VipPortId: "port-" + ids[i]}
		alive.Add(1)
		runtime.AddCleanup(lb, func(c *atomic.Int64) { c.Add(-1) }, &alive)
		tb.Put(lb)
	}
	for _, id := range ids {
		old, _ := tb.Get(id)
		lb := proto.Clone(old).(*storepb.LoadBalancer)
		lb.ProvisioningStatus = "ACTIVE"
		tb.Put(lb)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive.Load() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if left := alive.Load(); left > 0 {
		t.Fatalf("%d of %d replaced rows are still reachable", left, n)
	}
	if tb.Len() != n || len(collectEqual(tb, IndexProvisioningStatus, "PENDING_CREATE")) != 0 {
		t.Fatalf("table: %d rows, pending %v", tb.Len(), collectEqual(tb, IndexProvisioningStatus, "PENDING_CREATE"))
	}
	runtime.KeepAlive(tb)
}
