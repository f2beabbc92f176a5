package actors_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/store"
	"keel/store/storepb"
)

// An update's cross-field checks are the grain's, on the row as it holds it: an
// update valid against the row it was decided on, which loses the race to
// another writer's update, is decided again on the winner's row, and refused if
// the two combined would store an invalid row (Octavia's 400 and its text).

const (
	mandatoryRefused = "Validation failure: Client authentication setting MANDATORY requires a client CA container reference."
	crlRefused       = "Validation failure: A CA reference is required to specify a certificate revocation list."
	domainRefused    = "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check"
)

func tlsListenerOf(lbID string) string { return "tls-listener-" + lbID }
func monitorOf(lbID string) string     { return "monitor-" + lbID }

// seedUpdateTargets stores, on an ACTIVE load balancer, an ACTIVE TERMINATED_HTTPS
// listener with a client CA, a pool with a CA, and its HTTP monitor on HTTP/1.1.
func seedUpdateTargets(t *testing.T, s *fsmStore, id string) {
	seedLoadBalancer(t, s, id)
	lb := proto.Clone(s.State().LoadBalancer(id)).(*storepb.LoadBalancer)
	s.write(t, &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LISTENER, Write: &storepb.TreeWrite{LoadBalancerId: id, ExpectedVersion: lb.Version, LoadBalancer: lb,
			Listeners: []*storepb.Listener{{Id: tlsListenerOf(id), LoadbalancerId: id, ProjectId: "p",
				Protocol: "TERMINATED_HTTPS", ProtocolPort: 443, DefaultTlsContainerRef: "cert", ClientCaTlsContainerRef: "ca",
				ClientAuthentication: "NONE", ProvisioningStatus: actors.StatusActive}},
			Pools: []*storepb.Pool{{Id: poolOf(id), LoadbalancerId: id, ProjectId: "p", Protocol: "HTTP",
				LbAlgorithm: "ROUND_ROBIN", CaTlsContainerRef: "ca", ProvisioningStatus: actors.StatusActive}},
			HealthMonitors: []*storepb.HealthMonitor{{Id: monitorOf(id), PoolId: poolOf(id), LoadbalancerId: id, ProjectId: "p",
				Type: "HTTP", Delay: 5, Timeout: 3, MaxRetries: 2, HttpVersion: "1.1", ProvisioningStatus: actors.StatusActive}},
		}}}})
}

// otherUpdate is another writer's update of one of the load balancer's rows
// (its provider step already ran: everything stays ACTIVE).
func otherUpdate(change func(w *storepb.TreeWrite, st *store.State, id string)) func(st *store.State, id string) *storepb.Command {
	return func(st *store.State, id string) *storepb.Command {
		lb := proto.Clone(st.LoadBalancer(id)).(*storepb.LoadBalancer)
		w := &storepb.TreeWrite{LoadBalancerId: id, ExpectedVersion: lb.Version, LoadBalancer: lb}
		change(w, st, id)
		return &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{Intent: storepb.TreeTransaction_UPDATE_LISTENER, Write: w}}}
	}
}

var (
	// Another writer removed the listener's client CA, the pool's CA, or set the
	// monitor's HTTP version to 1.0 (after a domain-less update).
	clientCARemoved = otherUpdate(func(w *storepb.TreeWrite, st *store.State, id string) {
		l, _ := st.Listeners.Get(tlsListenerOf(id))
		l = proto.Clone(l).(*storepb.Listener)
		l.ClientCaTlsContainerRef = ""
		w.Listeners = append(w.Listeners, l)
	})
	poolCARemoved = otherUpdate(func(w *storepb.TreeWrite, st *store.State, id string) {
		p, _ := st.Pools.Get(poolOf(id))
		p = proto.Clone(p).(*storepb.Pool)
		p.CaTlsContainerRef = ""
		w.Pools = append(w.Pools, p)
	})
	monitorOnHTTP10 = otherUpdate(func(w *storepb.TreeWrite, st *store.State, id string) {
		hm, _ := st.HealthMonitors.Get(monitorOf(id))
		hm = proto.Clone(hm).(*storepb.HealthMonitor)
		hm.HttpVersion = "1.0"
		w.HealthMonitors = append(w.HealthMonitors, hm)
	})

	requireClientCert = operation{
		name: "UpdateListener", arrange: seedUpdateTargets, readsFirst: true, replies: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).UpdateListener,
				&actorspb.UpdateListenerRequest{Caller: caller, Values: &storepb.Listener{Id: tlsListenerOf(id),
					Name: newName + id, ClientAuthentication: "MANDATORY"}, Fields: []string{"name", "client_authentication"}})
			return r.GetListener().GetName(), err
		},
	}
	addCRL = operation{
		name: "UpdatePool", arrange: seedUpdateTargets, readsFirst: true, replies: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).UpdatePool,
				&actorspb.UpdatePoolRequest{Caller: caller, Values: &storepb.Pool{Id: poolOf(id),
					Name: newName + id, CrlContainerRef: "crl"}, Fields: []string{"name", "crl_container_ref"}})
			return r.GetPool().GetName(), err
		},
	}
	addDomain = operation{
		name: "UpdateHealthMonitor", arrange: seedUpdateTargets, readsFirst: true, replies: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).UpdateHealthMonitor,
				&actorspb.UpdateHealthMonitorRequest{Caller: caller, Values: &storepb.HealthMonitor{Id: monitorOf(id),
					Name: newName + id, DomainName: "example.com"}, Fields: []string{"name", "domain_name"}})
			return r.GetHealthMonitor().GetName(), err
		},
	}
)

func TestUpdatesCheckTheGrainsRow(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	runDecisionCases(t, s, m.client, []decisionCase{
		{name: "valid against its row", op: requireClientCert},
		{name: "lost the race to the client CA's removal", op: requireClientCert,
			others: []func(*store.State, string) *storepb.Command{clientCARemoved},
			want:   actors.KindInvalid, message: mandatoryRefused},
		{name: "valid against its row", op: addCRL},
		{name: "lost the race to the CA's removal", op: addCRL,
			others: []func(*store.State, string) *storepb.Command{poolCARemoved},
			want:   actors.KindInvalid, message: crlRefused},
		{name: "valid against its row", op: addDomain},
		{name: "lost the race to HTTP/1.0", op: addDomain,
			others: []func(*store.State, string) *storepb.Command{monitorOnHTTP10},
			want:   actors.KindInvalid, message: domainRefused},
	})
}

// The same refusals come in sequence too, and before the locks: the second
// update is refused for the row the first left, although the load balancer is
// still PENDING_UPDATE from the first (Octavia checks before it locks).
func TestSequentialUpdatesCheckTheRowTheFirstLeft(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	id := "seq-lb"
	seedUpdateTargets(t, s, id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := actors.CallLoadBalancer(ctx, m.client, id, (*actorspb.LoadBalancerGrainClient).UpdateListener,
		&actorspb.UpdateListenerRequest{Caller: caller("first", 0), Values: &storepb.Listener{Id: tlsListenerOf(id)},
			Fields: []string{"client_ca_tls_container_ref"}}); err != nil {
		t.Fatal(err)
	}
	_, err := actors.CallLoadBalancer(ctx, m.client, id, (*actorspb.LoadBalancerGrainClient).UpdateListener,
		&actorspb.UpdateListenerRequest{Caller: caller("second", 0), Values: &storepb.Listener{Id: tlsListenerOf(id),
			ClientAuthentication: "MANDATORY"}, Fields: []string{"client_authentication"}})
	wantRefusal(t, err, actors.KindInvalid, mandatoryRefused)
}
