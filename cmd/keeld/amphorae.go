package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	protocluster "github.com/asynkron/protoactor-go/cluster"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/actors/compute"
	"keel/agent/heartbeat"
	"keel/cluster"
	"keel/cluster/amphorapki"
	"keel/cluster/healthreceiver"
	"keel/cluster/metrics"
	keelhttp "keel/http"
	"keel/store"
	"keel/store/storepb"
)

// amphoraOptions are the flags of the amphora provider (docs/amphora-drivers.md).
type amphoraOptions struct {
	driver       string
	vipCIDR      string
	agentBinary  string
	caCert       string
	caKey        string
	heartbeatKey string
	interval     time.Duration
	timeout      time.Duration
	certValidity time.Duration
	stats        time.Duration // -stats-interval
}

// amphoraNode is a node's part in running amphorae: the configuration grains use,
// the secrets it makes sure the cluster has, and its heartbeat receiver.
type amphoraNode struct {
	cfg    *actors.Amphorae
	o      amphoraOptions
	node   string
	addr   string // -health-addr
	st     *store.Node
	logger *slog.Logger

	mu       sync.Mutex
	verifier *heartbeat.Verifier
	receiver *healthreceiver.Receiver
	stop     chan struct{}
	done     chan struct{}
	// undelivered counts handled heartbeats whose grain call failed.
	undelivered atomic.Uint64
}

// newAmphoraNode builds the grains' amphora configuration (nil for the noop
// driver: amphorae are records only).
func newAmphoraNode(o *options, st *store.Node, m *cluster.Membership, logger *slog.Logger) (*amphoraNode, error) {
	a := &amphoraNode{o: o.amphorae, node: o.node, addr: o.healthAddr, st: st, logger: logger,
		stop: make(chan struct{}), done: make(chan struct{})}
	switch o.amphorae.driver {
	case "noop":
		close(a.done)
		return a, nil
	case "local":
	default:
		return nil, fmt.Errorf("-amphora-driver %q: want local or noop", o.amphorae.driver)
	}
	vips, err := compute.NewVIPAllocator(o.amphorae.vipCIDR)
	if err != nil {
		return nil, fmt.Errorf("-vip-cidr: %w", err)
	}
	if !vips.Prefix().Addr().IsLoopback() {
		return nil, fmt.Errorf("-vip-cidr %s: the local amphora driver serves VIPs on loopback (127.0.0.0/8)", o.amphorae.vipCIDR)
	}
	local, err := compute.NewLocal(compute.LocalConfig{BaseDir: filepath.Join(o.dataDir, "amphorae"),
		AgentBinary: o.amphorae.agentBinary, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("local amphora driver: %w", err)
	}
	if err := local.Check(); err != nil {
		// keeld keeps serving; every amphora build fails with this reason (ERROR).
		logger.Warn("amphorae cannot be built until this is fixed", "err", err)
	}
	a.cfg = &actors.Amphorae{
		Driver: local, VIPs: vips,
		Trust:       actors.TrustFrom(o.node, amphorapki.Options{Validity: o.amphorae.certValidity}, a.secrets),
		Controllers: m.HealthAddrs,
		Forget: func(id string) {
			a.mu.Lock()
			v := a.verifier
			a.mu.Unlock()
			if v != nil {
				v.Forget(id)
			}
		},
		HeartbeatInterval: o.amphorae.interval, HeartbeatTimeout: o.amphorae.timeout,
		CertValidity: o.amphorae.certValidity,
		Stats:        actors.NewStatsFlusher(st, o.amphorae.stats, logger),
	}
	return a, nil
}

// secrets reads the cluster's amphora secrets from the store.
func (a *amphoraNode) secrets() (caCert, caKey []byte, heartbeatKey string, err error) {
	s := a.st.State().Current().AmphoraSecrets
	if s == nil {
		return nil, nil, "", nil
	}
	return []byte(s.CaCertPem), []byte(s.CaKeyPem), s.HeartbeatKey, nil
}

// start makes sure the cluster has amphora secrets (the first node to propose
// its own wins), then listens for heartbeats and hands each to its amphora's
// grain.
func (a *amphoraNode) start(c *protocluster.Cluster) {
	if a.cfg == nil {
		return
	}
	a.cfg.Stats.Start()
	go func() {
		defer close(a.done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			if sec := a.st.State().Current().AmphoraSecrets; sec != nil {
				a.listen(c, sec)
				return
			}
			if err := a.proposeSecrets(); err != nil {
				a.logger.Debug("amphora secrets not stored yet", "err", err)
			}
			select {
			case <-a.stop:
				return
			case <-tick.C:
			}
		}
	}()
}

// proposeSecrets proposes this node's amphora secrets: the CA of -amphora-ca-cert
// and -amphora-ca-key (or a new one), the key of -heartbeat-key (or a new one).
func (a *amphoraNode) proposeSecrets() error {
	var ca *amphorapki.CA
	var err error
	if a.o.caCert != "" || a.o.caKey != "" {
		ca, err = amphorapki.LoadFiles(a.o.caCert, a.o.caKey, amphorapki.Options{})
	} else {
		ca, err = amphorapki.Generate("keel amphora CA", amphorapki.Options{})
	}
	if err != nil {
		return err
	}
	key := a.o.heartbeatKey
	if key == "" {
		key = amphorapki.NewHeartbeatKey()
	}
	m := ca.Material()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := a.st.Propose(ctx, &storepb.Command{Op: &storepb.Command_InitAmphoraSecrets{InitAmphoraSecrets: &storepb.InitAmphoraSecrets{
		Secrets: &storepb.AmphoraSecrets{CaCertPem: string(m.CertPEM), CaKeyPem: string(m.KeyPEM), HeartbeatKey: key}}}})
	if err != nil {
		return err
	}
	if res.Code != storepb.CommandResult_OK {
		return fmt.Errorf("%s: %s", res.Code, res.Message)
	}
	return nil
}

func (a *amphoraNode) listen(c *protocluster.Cluster, sec *storepb.AmphoraSecrets) {
	if a.o.heartbeatKey != "" && a.o.heartbeatKey != sec.HeartbeatKey {
		a.logger.Warn("-heartbeat-key differs from the cluster's; the cluster's is used (the first node's)")
	}
	v := heartbeat.NewVerifier([]byte(sec.HeartbeatKey), heartbeat.VerifierOptions{})
	r, err := healthreceiver.Listen(healthreceiver.Config{
		Addr: a.addr, Verifier: v, Workers: 16, MaxDelay: a.o.interval, Logger: a.logger,
		// The default (~200 KiB) holds ~8 ms of heartbeats at 20k/s; the kernel
		// caps this at net.core.rmem_max.
		ReadBuffer: 4 << 20,
		Handler: func(hb healthreceiver.Heartbeat) {
			body, err := json.Marshal(hb.Message)
			if err != nil {
				return
			}
			_, err = actorspb.GetAmphoraGrainClient(c, hb.AmphoraID).Heartbeat(&actorspb.HeartbeatRequest{
				AmphoraId: hb.AmphoraID, MessageJson: body, ReceivedUnixMs: hb.Received.UnixMilli()},
				protocluster.WithTimeout(2*time.Second))
			if err != nil {
				a.undelivered.Add(1)
				a.logger.Debug("heartbeat not delivered", "amphora", hb.AmphoraID, "err", err)
			}
		},
	})
	if err != nil {
		a.logger.Error("heartbeat receiver not started: amphorae will be failed over", "addr", a.addr, "err", err)
		return
	}
	a.mu.Lock()
	a.verifier, a.receiver = v, r
	a.mu.Unlock()
	a.logger.Info("heartbeat receiver listening", "addr", r.Addr().String())
}

// flushStats stops the statistics flusher after writing what it holds (before a
// graceful leave, while the node can still propose).
func (a *amphoraNode) flushStats() {
	if a.cfg != nil {
		a.cfg.Stats.Stop(2 * time.Second)
	}
}

// counters are the receiver's counters (nil while none listens: GET
// /debug/heartbeats).
func (a *amphoraNode) counters() *keelhttp.HeartbeatCounters {
	a.mu.Lock()
	r := a.receiver
	a.mu.Unlock()
	if r == nil {
		return nil
	}
	return &keelhttp.HeartbeatCounters{Counters: r.Counters(), Undelivered: a.undelivered.Load()}
}

// heartbeatCounts are the receiver's counters as /metrics exports them (false
// while none listens).
func (a *amphoraNode) heartbeatCounts() (metrics.HeartbeatCounts, bool) {
	c := a.counters()
	if c == nil {
		return metrics.HeartbeatCounts{}, false
	}
	return metrics.HeartbeatCounts{Received: c.Received, Accepted: c.Accepted, Handled: c.Handled,
		Undelivered: c.Undelivered, Rejected: map[string]uint64{"forged": c.Forged, "replayed": c.Replayed,
			"stale": c.Stale, "malformed": c.Malformed, "queue_full": c.Dropped, "late": c.Late}}, true
}

// shutdown stops the secrets loop and the receiver (amphorae keep running: they
// are failed over only by the silence the surviving nodes see).
func (a *amphoraNode) shutdown() {
	a.flushStats()
	close(a.stop)
	<-a.done
	a.mu.Lock()
	r := a.receiver
	a.mu.Unlock()
	if r != nil {
		_ = r.Close()
	}
}
