package actors_test

import (
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/cluster"
)

// The one place the actors tests assemble grains: a one-member actor cluster
// serving keel's grain kinds over a Store (a Raft node, or an fsmStore). One
// member at a time per process: protoactor-go races with two (runtime.md).

// grainMember is a running one-member cluster and the client that calls its grains.
type grainMember struct {
	cluster *protocluster.Cluster
	client  *actors.Client
}

// quietLogger discards protoactor's and the grains' logs.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func freeLoopback(t *testing.T) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a := l.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func itoa(i int) string { return strconv.Itoa(i) }

// startGrainMember starts a member whose grains use st; it stops with the test.
func startGrainMember(t *testing.T, st actors.Store, settings actors.Settings) *grainMember {
	t.Helper()
	host, port := freeLoopback(t)
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLogger }))
	kinds := actors.Kinds(system, &actors.Runtime{Store: st, Settings: settings, Logger: quietLogger})
	cfg := protocluster.Configure("keel-test", test.NewTestProvider(test.NewInMemAgent()), cluster.NewPlacementLookup(),
		remote.Configure(host, port), protocluster.WithKinds(kinds...))
	c := protocluster.New(system, cfg)
	c.StartMember()
	t.Cleanup(func() { c.Shutdown(false) })
	return &grainMember{cluster: c, client: actors.NewClient(c)}
}

// caller is an admin's request of project p, attempt attempt, with a fresh deadline.
func caller(reqID string, attempt uint32) *actorspb.Caller {
	return &actorspb.Caller{ProjectId: "p", Admin: true, RequestId: reqID, Attempt: attempt,
		DeadlineUnixMs: actors.RequestDeadline(time.Now())}
}
