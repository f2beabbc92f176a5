// Package agent assembles keel-agent, the amphora agent: it builds the components
// (listeners on haproxy, certificates, keepalived, interfaces, topology, system
// figures), restores the daemons a previous agent left, serves the v0.1 API over mutual
// TLS, sends heartbeats, and on shutdown stops every process it runs.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"keel/agent/api"
	"keel/agent/certs"
	"keel/agent/haproxy"
	"keel/agent/heartbeat"
	"keel/agent/ident"
	"keel/agent/keepalived"
	"keel/agent/netif"
	"keel/agent/sysinfo"
	"keel/agent/topology"
)

// Config is keel-agent's configuration (see docs/agent-api.md for the flags).
type Config struct {
	Listen            string
	TLSCert, TLSKey   string
	ClientCA          string
	StateDir          string
	CertDir           string // empty: DefaultCertDir
	AmphoraID         string
	Controllers       []string
	HeartbeatKey      string
	HeartbeatInterval time.Duration
	HAProxy           string
	Keepalived        string
	NetNS             string
	Logger            *slog.Logger
}

// DefaultCertDir is where listener certificates go when -cert-dir is not given: a
// directory on /dev/shm when that is a memory filesystem, else under the state dir.
func DefaultCertDir(stateDir, amphoraID string) string {
	var st syscall.Statfs_t
	const tmpfsMagic = 0x01021994
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic {
		return filepath.Join("/dev/shm", "keel-agent-"+amphoraID, "certs")
	}
	return filepath.Join(stateDir, "certs")
}

func (c *Config) check() error {
	var missing []string
	for name, v := range map[string]string{"-tls-cert": c.TLSCert, "-tls-key": c.TLSKey, "-client-ca": c.ClientCA,
		"-state-dir": c.StateDir, "-amphora-id": c.AmphoraID, "-heartbeat-key": c.HeartbeatKey} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("required: %v", missing)
	}
	if !ident.ValidUUID(c.AmphoraID) {
		return fmt.Errorf("-amphora-id %q is not a UUID", c.AmphoraID)
	}
	if c.HeartbeatInterval <= 0 {
		return errors.New("-heartbeat-interval must be positive")
	}
	return nil
}

// Agent is a configured, not yet running agent.
type Agent struct {
	cfg       Config
	log       *slog.Logger
	listeners *haproxy.Manager
	vrrp      *keepalived.Manager
	topo      *topology.Manager
	sampler   *sysinfo.Sampler
	hb        *heartbeat.Sender
	tlsConfig *tls.Config
	deps      api.Deps
}

// New checks the configuration and builds the components.
func New(cfg Config) (*Agent, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	if cfg.CertDir == "" {
		cfg.CertDir = DefaultCertDir(cfg.StateDir, cfg.AmphoraID)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger}
	store, err := certs.NewStore(cfg.CertDir)
	if err != nil {
		return nil, err
	}
	a.listeners, err = haproxy.NewManager(haproxy.Config{Binary: cfg.HAProxy, StateDir: cfg.StateDir, Certs: store, NetNS: cfg.NetNS, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	a.vrrp, err = keepalived.NewManager(keepalived.Config{Binary: cfg.Keepalived, StateDir: cfg.StateDir, NetNS: cfg.NetNS, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	a.topo, err = topology.Load(filepath.Join(cfg.StateDir, "topology.json"), a.applyTopology)
	if err != nil {
		return nil, err
	}
	serverCert, err := api.LoadServerCert(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, err
	}
	clientCAs, err := api.LoadCAPool(cfg.ClientCA)
	if err != nil {
		return nil, err
	}
	a.tlsConfig = api.TLSConfig(serverCert, clientCAs)
	a.sampler = sysinfo.NewSampler()
	a.hb, err = heartbeat.NewSender(heartbeat.SenderConfig{AmphoraID: cfg.AmphoraID, Key: []byte(cfg.HeartbeatKey),
		Controllers: cfg.Controllers, Interval: cfg.HeartbeatInterval, Source: a.heartbeatSample, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	a.deps = api.Deps{AmphoraID: cfg.AmphoraID, Hostname: host, Listeners: a.listeners, Certs: store, VRRP: a.vrrp,
		Net: &netif.Net{NetNS: cfg.NetNS}, Topology: a.topo, Sampler: a.sampler,
		Packages: &sysinfo.PackageCache{TTL: 10 * time.Minute}, ServerCert: serverCert, Logger: cfg.Logger}
	return a, nil
}

// applyTopology carries out a topology change: VRRP only serves ACTIVE-STANDBY, so
// leaving it stops keepalived.
func (a *Agent) applyTopology(ctx context.Context, from, to topology.State) error {
	if from.Topology == topology.ActiveStandby && to.Topology != topology.ActiveStandby && a.vrrp.Running() {
		if _, err := a.vrrp.Stop(); err != nil {
			return err
		}
	}
	return nil
}

// heartbeatSample reads every running listener's stats for the heartbeat.
func (a *Agent) heartbeatSample(ctx context.Context) (heartbeat.Sample, error) {
	s := heartbeat.Sample{Listeners: map[string]heartbeat.ListenerSample{}, Pools: map[string]heartbeat.Pool{}}
	if reason := a.vrrp.Failed(); reason != "" {
		s.Withhold = reason
		return s, nil
	}
	for id, sm := range a.listeners.Samples(ctx) {
		f := sm.Frontend
		s.Listeners[id] = heartbeat.ListenerSample{Status: f.Status, Process: sm.Worker, BytesIn: f.BytesIn,
			BytesOut: f.BytesOut, CurrentConns: f.CurrentConns, TotalConns: f.TotalConns, RequestErrors: f.RequestErrs}
		for _, p := range sm.Pools {
			members := map[string]string{}
			for _, m := range p.Members {
				members[m.ID] = m.Raw
			}
			status := "UP"
			if p.Status == haproxy.StatusDown {
				status = "DOWN"
			}
			s.Pools[p.ID+":"+id] = heartbeat.Pool{Status: status, Members: members}
		}
	}
	return s, nil
}

// Run restores the daemons, serves the API and sends heartbeats until ctx ends, then
// stops the API, the heartbeats and every daemon it runs.
func (a *Agent) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// Serve is Run on an existing listener.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	defer a.shutdownDaemons()
	a.listeners.Restore()
	a.vrrp.Restore()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.sampler.Run(ctx, 5*time.Second) }()
	go func() { defer wg.Done(); a.hb.Run(ctx) }()

	srv := api.NewServer(a.deps)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, a.tlsConfig)) }()
	a.log.Info("keel-agent serving", "listen", ln.Addr().String(), "amphora", a.cfg.AmphoraID, "boot", a.hb.Boot())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	srv.ShutdownWithContext(sctx)
	scancel()
	cancel()
	wg.Wait()
	a.topo.Wait(30 * time.Second)
	return serveErr
}

func (a *Agent) shutdownDaemons() {
	a.listeners.Shutdown()
	a.vrrp.Shutdown()
	a.log.Info("keel-agent stopped")
}
