package http_test

import (
	"fmt"
	"slices"
	"testing"

	"keel/cluster/systemtest"
)

// A tree write routes on the node's own tables, which may not hold yet what
// another node just acknowledged (a follower learns of a commit up to Raft's
// commit timeout later). Read-your-writes must hold anyway: an object created
// through one node and at once written through another is found (never 404),
// and a write's response, rendered from the grain's tree, names the references
// a read after it shows.
func TestTreeWritesAcrossNodes(t *testing.T) {
	nodes := systemtest.StartCluster(t, 3)
	api := make([]*poolsAPI, len(nodes))
	for i, n := range nodes {
		api[i] = &poolsAPI{t: t, n: n}
	}
	lbID := api[0].loadBalancer("across")
	listenerID := api[0].listener(lbID, "HTTP", 80)

	// The load balancer is PENDING_UPDATE right after a write, so the write that
	// follows at once is the grain's 409 (or succeeds, if provisioning was quicker):
	// either way the object was found.
	notMissing := func(r *systemtest.Response, what string) {
		t.Helper()
		if r.Status == 404 {
			t.Fatalf("%s: 404 right after the create through another node: %s", what, r.Body)
		}
		if r.Status >= 500 {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	for i := 0; i < 6; i++ {
		from, to := api[i%3], api[(i+1)%3]
		p := from.create("/v2/lbaas/pools", "pool",
			fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, lbID))
		poolPath := "/v2/lbaas/pools/" + p["id"].(string)
		r, err := to.n.Do("POST", poolPath+"/members", `{"member":{"address":"10.0.0.1","protocol_port":80}}`)
		if err != nil {
			t.Fatal(err)
		}
		notMissing(r, fmt.Sprintf("member of pool %d created through %s, posted through %s", i, from.n.Name, to.n.Name))
		from.settle(lbID)

		policy := from.create("/v2/lbaas/l7policies", "l7policy",
			fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT","name":"p%d"}}`, listenerID, i))
		r, err = to.n.Do("PUT", "/v2/lbaas/l7policies/"+policy["id"].(string), `{"l7policy":{"name":"renamed"}}`)
		if err != nil {
			t.Fatal(err)
		}
		notMissing(r, fmt.Sprintf("policy %d created through %s, updated through %s", i, from.n.Name, to.n.Name))
		from.settle(lbID)
	}

	// Once settled, a write through a follower renders the references a read
	// shows: a pool's listeners, members and monitor, a listener's policies.
	a, b := api[0], api[1]
	web := a.listener(lbID, "HTTP", 81)
	p := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"`, web))
	poolPath := "/v2/lbaas/pools/" + p["id"].(string)
	member := a.create(poolPath+"/members", "member", `{"member":{"address":"10.0.0.2","protocol_port":8080}}`)
	a.settle(lbID)
	monitor := a.create("/v2/lbaas/healthmonitors", "healthmonitor",
		fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"HTTP","delay":5,"timeout":3,"max_retries":2}}`, p["id"]))
	a.settle(lbID)
	written := b.obj(b.do(200, "PUT", poolPath, `{"pool":{"name":"through b"}}`), "pool")
	read := b.get(poolPath, "pool")
	if !slices.Equal(b.refs(written["listeners"]), b.refs(read["listeners"])) || !slices.Equal(b.refs(written["members"]), []string{member["id"].(string)}) ||
		written["healthmonitor_id"] != monitor["id"] || read["healthmonitor_id"] != monitor["id"] || len(b.refs(written["listeners"])) != 1 {
		t.Fatalf("pool as written %v, as read %v", written, read)
	}
	b.settle(lbID)
	written = b.obj(b.do(200, "PUT", "/v2/lbaas/listeners/"+listenerID, `{"listener":{"name":"through b"}}`), "listener")
	read = b.get("/v2/lbaas/listeners/"+listenerID, "listener")
	if got := b.refs(written["l7policies"]); len(got) != 6 || !slices.Equal(got, b.refs(read["l7policies"])) {
		t.Fatalf("listener's policies as written %v, as read %v", written["l7policies"], read["l7policies"])
	}
}
