package actors

import (
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/cluster"

	"keel/store/storepb"
)

// A request an earlier attempt applied, whose object is gone since, is answered
// with a 503, not a reply without its object (which the renderer would crash on).
func TestWrittenRow(t *testing.T) {
	listeners := func(t *tree) map[string]*storepb.Listener { return t.listeners }
	g := &LoadBalancerGrain{}
	if _, err := writtenRow(g, listeners, "l1"); !isUnavailable(err) {
		t.Fatalf("purged tree: %v, want unavailable", err)
	}
	g.tree = newTree(&storepb.LoadBalancer{Id: "lb"})
	if _, err := writtenRow(g, listeners, "l1"); !isUnavailable(err) {
		t.Fatalf("deleted child: %v, want unavailable", err)
	}
	g.tree.listeners = map[string]*storepb.Listener{"l1": {Id: "l1"}}
	if row, err := writtenRow(g, listeners, "l1"); err != nil || row.Id != "l1" {
		t.Fatalf("written child: %v, %v", row, err)
	}
}

func isUnavailable(err error) bool {
	var ge *cluster.GrainErrorResponse
	return errors.As(err, &ge) && ErrorKind(ge.Reason) == KindUnavailable
}
