package chaostest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"keel/cluster/systemtest"
)

func idOf(body []byte, kind string) string {
	var v map[string]struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &v)
	return v[kind].ID
}

func statusOf(body []byte, kind string) string {
	var v map[string]struct {
		ProvisioningStatus string `json:"provisioning_status"`
	}
	_ = json.Unmarshal(body, &v)
	return v[kind].ProvisioningStatus
}

// listing is every object of the API's load balancer trees on one node, each
// rendered as canonical JSON, by kind and id.
type listing map[string]map[string]json.RawMessage

// list reads every load balancer, listener, pool, health monitor and member on n.
func list(a *api, n *systemtest.Node, pools []string) (listing, error) {
	out := listing{}
	get := func(kind, plural, path string) error {
		status, body, err := a.do(n, "GET", path, nil)
		if err != nil || status != 200 {
			return fmt.Errorf("GET %s on %s: HTTP %d %v", path, n.Name, status, err)
		}
		var v map[string]json.RawMessage
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		var items []map[string]any
		if err := json.Unmarshal(v[plural], &items); err != nil {
			return fmt.Errorf("GET %s on %s: %v", path, n.Name, err)
		}
		if len(items) >= 1000 {
			return fmt.Errorf("GET %s: more than one page", path)
		}
		if out[kind] == nil {
			out[kind] = map[string]json.RawMessage{}
		}
		for _, it := range items {
			b, _ := json.Marshal(it) // map keys sorted: canonical
			out[kind][fmt.Sprint(it["id"])] = b
		}
		return nil
	}
	for _, k := range [][2]string{{"loadbalancer", "loadbalancers"}, {"listener", "listeners"}, {"pool", "pools"},
		{"healthmonitor", "healthmonitors"}} {
		if err := get(k[0], k[1], "/v2/lbaas/"+k[1]+"?limit=1000"); err != nil {
			return nil, err
		}
	}
	for _, p := range pools {
		if err := get("member", "members", "/v2/lbaas/pools/"+p+"/members?limit=1000"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (l listing) digest() string {
	h := sha256.New()
	kinds := make([]string, 0, len(l))
	for k := range l {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		ids := make([]string, 0, len(l[k]))
		for id := range l[k] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			fmt.Fprintf(h, "%s %s %s\n", k, id, l[k][id])
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
}

// diff describes how b differs from a (at most a few lines).
func (l listing) diff(b listing) []string {
	var out []string
	for kind, objs := range l {
		for id, ra := range objs {
			rb, ok := b[kind][id]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s %s missing", kind, id))
			case !bytes.Equal(ra, rb):
				out = append(out, fmt.Sprintf("%s %s: %s vs %s", kind, id, ra, rb))
			}
		}
		for id := range b[kind] {
			if _, ok := objs[id]; !ok {
				out = append(out, fmt.Sprintf("%s %s extra", kind, id))
			}
		}
	}
	sort.Strings(out)
	if len(out) > 5 {
		out = append(out[:5], fmt.Sprintf("… %d more", len(out)-5))
	}
	return out
}

// pending lists objects not ACTIVE (provisioning_status) in l.
func (l listing) pending() []string {
	var out []string
	for kind, objs := range l {
		for id, raw := range objs {
			var v struct {
				ProvisioningStatus string `json:"provisioning_status"`
			}
			_ = json.Unmarshal(raw, &v)
			if v.ProvisioningStatus != "ACTIVE" {
				out = append(out, fmt.Sprintf("%s %s %s", kind, short(id), v.ProvisioningStatus))
			}
		}
	}
	sort.Strings(out)
	return out
}

// waitSettled waits up to timeout until n lists no object in PENDING_* (or
// ERROR); it returns what is still not ACTIVE, or why n could not list.
func waitSettled(a *api, n *systemtest.Node, pools []string, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	for {
		l, err := list(a, n, pools)
		var pending []string
		if err == nil {
			if pending = l.pending(); len(pending) == 0 {
				return nil, nil
			}
		}
		if time.Now().After(deadline) {
			return pending, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitSameIndex waits until every node reports the same FSM and Raft applied
// index; it returns the indexes seen last and whether they agreed.
func waitSameIndex(nodes []*systemtest.Node, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		var parts []string
		fsm := map[uint64]bool{}
		applied := map[uint64]bool{}
		for _, n := range nodes {
			v := n.Cluster()
			if v == nil {
				parts = append(parts, n.Name+"=?")
				fsm[0], applied[0] = true, true
				continue
			}
			parts = append(parts, fmt.Sprintf("%s=%d/%d", n.Name, v.Raft.FSMIndex, v.Raft.AppliedIndex))
			fsm[v.Raft.FSMIndex], applied[v.Raft.AppliedIndex] = true, true
		}
		if len(fsm) == 1 && len(applied) == 1 {
			return strings.Join(parts, " "), true
		}
		if time.Now().After(deadline) {
			return strings.Join(parts, " "), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Gap is the longest time without a successful write around one fault.
type Gap struct {
	Fault Fault
	Max   time.Duration
}

// writeGaps computes, for each fault, the longest interval without an
// acknowledged write (2xx on a write, create or delete) from the fault's start to
// settle after its end (or the run's end).
func writeGaps(recs []Record, faults []Fault, settle time.Duration, runEnd int64) []Gap {
	var oks []int64
	for _, r := range recs {
		if r.Op != OpRead && r.Outcome == OK {
			oks = append(oks, r.Return)
		}
	}
	sort.Slice(oks, func(i, j int) bool { return oks[i] < oks[j] })
	var out []Gap
	for _, f := range faults {
		end := min(f.End+int64(settle), runEnd)
		prev, worst := f.Start, int64(0)
		for _, t := range oks {
			if t <= f.Start {
				continue
			}
			if t > end {
				break
			}
			worst = max(worst, t-prev)
			prev = t
		}
		worst = max(worst, end-prev)
		out = append(out, Gap{Fault: f, Max: time.Duration(worst)})
	}
	return out
}
