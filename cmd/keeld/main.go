// Command keeld runs one keel node: the replicated store, the actor cluster, gossip
// membership and the public API. With no flags it is a working single-node cluster.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"keel/actors"
	"keel/actors/compute"
	"keel/cluster"
	"keel/cluster/clusterpb"
	"keel/cluster/metrics"
	keelhttp "keel/http"
	"keel/store"
)

type options struct {
	node             string
	dataDir          string
	httpAddr         string
	blazarAddr       string
	moganAddr        string
	leases           actors.LeaseSettings
	hosts            *keelhttp.HostPolicy
	gossipAddr       string
	raftAddr         string
	actorAddr        string
	healthAddr       string
	join             string
	bootstrapExpect  int
	gossipKey        []byte
	logLevel         string
	grainIdle        time.Duration
	grainSettledIdle time.Duration
	provisionDelay   time.Duration
	powerSync        time.Duration
	commitTimeout    time.Duration
	amphorae         amphoraOptions
	auth             keelhttp.AuthConfig
	memory           memoryOptions
	raftTrailing     uint64
	raftSnapshotAt   uint64
	raftLogStore     string
}

func parseFlags(args []string) (*options, error) {
	host, _ := os.Hostname()
	o := &options{}
	fs := flag.NewFlagSet("keeld", flag.ContinueOnError)
	fs.StringVar(&o.node, "node", host, "unique node name (the Raft server id)")
	fs.StringVar(&o.dataDir, "data-dir", "./keel-data", "Raft log, snapshots and node state")
	fs.StringVar(&o.httpAddr, "http-addr", "127.0.0.1:9876", "public API address")
	fs.StringVar(&o.blazarAddr, "blazar-addr", "127.0.0.1:1234", "Blazar v1 reservation API address (Blazar's port); empty: not served")
	fs.StringVar(&o.moganAddr, "mogan-addr", "127.0.0.1:6688", "Mogan v1 bare-metal instances API address (Mogan's port); empty: not served")
	fs.IntVar(&o.leases.MinutesBeforeEnd, "lease-minutes-before-end", actors.DefaultMinutesBeforeEnd,
		"Blazar's minutes_before_end_lease: a lease's before_end_lease event is this long before its end when the request names no before_end_date; 0: no such event")
	fs.DurationVar(&o.leases.CleaningTime, "lease-cleaning-time", 0,
		"Blazar's cleaning_time: the time a host needs between two leases (every lease window is widened by it on both sides)")
	var allowedHosts string
	fs.StringVar(&allowedHosts, "allowed-hosts", "", "comma-separated host names the API answers to in the Host header, besides IP addresses and localhost (DNS rebinding protection); * for any")
	fs.StringVar(&o.gossipAddr, "gossip-addr", "127.0.0.1:7946", "memberlist bind address (TCP and UDP)")
	fs.StringVar(&o.raftAddr, "raft-addr", "127.0.0.1:7947", "Raft transport address")
	fs.DurationVar(&o.commitTimeout, "raft-commit-timeout", 50*time.Millisecond,
		"longest an idle Raft leader waits before telling followers the commit index (hashicorp/raft CommitTimeout): a read or grain step on a follower right after a write waits up to twice this")
	fs.StringVar(&o.actorAddr, "actor-addr", "127.0.0.1:7948", "protoactor remote address")
	fs.StringVar(&o.healthAddr, "health-addr", "127.0.0.1:5555", "UDP amphora heartbeat receiver address")
	fs.StringVar(&o.join, "join", "", "comma-separated gossip addresses of existing members")
	fs.IntVar(&o.bootstrapExpect, "bootstrap-expect", 1, "servers to wait for before the first election")
	var gossipKey string
	fs.StringVar(&gossipKey, "gossip-key", "", "base64 key (16, 24 or 32 bytes) that encrypts and authenticates gossip; every node of a cluster needs the same one")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&o.memory.gogc, "gogc", 0, fmt.Sprintf("the Go collector's GOGC: collect when the heap grew by this percentage of the live data; default %d unless GOGC is set (negative: off)", defaultGOGC))
	fs.Uint64Var(&o.raftTrailing, "raft-trailing-logs", 0, "Raft entries kept in the log behind a snapshot, for followers to catch up from without one (0: the store's default)")
	fs.StringVar(&o.raftLogStore, "raft-log-store", store.LogStoreWAL, "where the Raft log lives: wal (hashicorp/raft-wal segment files, one fsync per append) or bolt (raft-boltdb, beside the stable store); a data dir whose log is in bolt is copied into a WAL on start with wal, one with a WAL cannot go back to bolt")
	fs.Uint64Var(&o.raftSnapshotAt, "raft-snapshot-threshold", 0, "Raft entries applied since the last snapshot that make the next one (0: the store's default)")
	fs.StringVar(&o.memory.headroom, "gc-headroom", "", fmt.Sprintf("while the node allocates fast (a burst of writes), let the heap grow by at least this much between collections (GOGC raised above -gogc while the live data is small), e.g. 256MiB; default %d MiB; 0: never", defaultGCHeadroom>>20))
	fs.StringVar(&o.memory.limit, "memory-limit", "", "soft memory limit of the Go runtime (GOMEMLIMIT), e.g. 2GiB; default none unless GOMEMLIMIT is set")
	fs.DurationVar(&o.grainIdle, "grain-idle-timeout", actors.DefaultSettings.IdleTimeout, "passivate a grain after this long without messages")
	fs.DurationVar(&o.grainSettledIdle, "grain-settled-idle-timeout", actors.DefaultSettings.SettledIdleTimeout,
		"passivate a load balancer grain whose provider step is done after this long without messages (0: -grain-idle-timeout)")
	fs.DurationVar(&o.provisionDelay, "provision-delay", actors.DefaultSettings.ProvisionDelay, "how long the provider step takes (tests hold PENDING_* states with it)")
	fs.DurationVar(&o.powerSync, "power-sync-interval", actors.DefaultSettings.PowerSyncInterval, "how often bare-metal instances read their hosts' BMC power state")
	fs.StringVar(&o.amphorae.driver, "amphora-driver", "local", "where amphorae run: local (a keel-agent process per amphora on this host, running haproxy) or noop (records only)")
	fs.StringVar(&o.amphorae.vipCIDR, "vip-cidr", compute.DefaultVIPCIDR, "loopback range the local amphora driver allocates VIP addresses from")
	fs.StringVar(&o.amphorae.agentBinary, "keel-agent", "", "keel-agent binary for the local driver (default: next to keeld, then $PATH)")
	fs.StringVar(&o.amphorae.caCert, "amphora-ca-cert", "", "CA certificate (PEM) for amphora mutual TLS; default: one generated at bootstrap and replicated")
	fs.StringVar(&o.amphorae.caKey, "amphora-ca-key", "", "the CA's private key (PEM), with -amphora-ca-cert")
	fs.StringVar(&o.amphorae.heartbeatKey, "heartbeat-key", "", "HMAC key of amphora heartbeats; default: one generated at bootstrap and replicated")
	fs.DurationVar(&o.amphorae.interval, "heartbeat-interval", 10*time.Second, "how often amphorae send heartbeats (Octavia's heartbeat_interval)")
	fs.DurationVar(&o.amphorae.timeout, "heartbeat-timeout", 60*time.Second, "silence after which an amphora is failed over (Octavia's heartbeat_timeout)")
	fs.DurationVar(&o.amphorae.certValidity, "amphora-cert-validity", 730*24*time.Hour, "validity of each amphora's certificate (Octavia's cert_validity_time); rotated within its last two weeks, or last half when shorter")
	fs.DurationVar(&o.amphorae.stats, "stats-interval", actors.DefaultStatsInterval, "how often a node writes the traffic statistics its amphorae's heartbeats reported (only when they changed; a node's death loses at most one interval)")
	// Identity and policy (Octavia's [api_settings] auth_strategy, keystonemiddleware's
	// [keystone_authtoken], oslo.policy's [oslo_policy]).
	fs.StringVar(&o.auth.Strategy, "auth-strategy", keelhttp.AuthNoauth, "keystone (validate X-Auth-Token with Keystone) or noauth (trust X-Project-Id and X-Roles; development)")
	fs.BoolVar(&o.auth.NoauthAdmin, "noauth-admin", false, "noauth: a request without X-Roles is an administrator's (else a project member's); only with a loopback -http-addr")
	fs.BoolVar(&o.auth.Policy.EnforceScope, "enforce-scope", false, "oslo.policy enforce_scope: only a system-scoped token may be an administrator through context_is_admin")
	fs.BoolVar(&o.auth.Policy.EnforceNewDefaults, "enforce-new-defaults", false, "oslo.policy enforce_new_defaults: drop Octavia's deprecated rules (a project admin is no longer an administrator; load-balancer_member needs member)")
	k := &o.auth.Keystone
	fs.StringVar(&k.URL, "keystone-url", "", "Keystone's identity endpoint (auth_url), e.g. http://controller:5000/v3")
	fs.StringVar(&k.WWWAuthenticateURI, "keystone-www-authenticate-uri", "", "the URI a 401's WWW-Authenticate names (www_authenticate_uri; default -keystone-url)")
	fs.StringVar(&k.User, "keystone-user", "", "service user keel validates tokens with")
	fs.StringVar(&k.Password, "keystone-password", "", "its password (prefer KEEL_KEYSTONE_PASSWORD: a command line is visible to other local users)")
	fs.StringVar(&k.Project, "keystone-project", "service", "the service user's project")
	fs.StringVar(&k.UserDomain, "keystone-user-domain", "Default", "the service user's domain (name)")
	fs.StringVar(&k.ProjectDomain, "keystone-project-domain", "Default", "the service project's domain (name)")
	fs.DurationVar(&k.CacheTTL, "keystone-cache-ttl", 300*time.Second, "how long a token validation is reused (token_cache_time; a revoked token stays accepted this long); negative: never")
	fs.IntVar(&k.CacheSize, "keystone-cache-size", 10000, "most token validations cached")
	fs.DurationVar(&k.Timeout, "keystone-timeout", 5*time.Second, "bound on each call to Keystone")
	fs.StringVar(&k.CAFile, "keystone-cafile", "", "PEM CA bundle for Keystone's TLS certificate (default: the system's)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	// Every flag may come from KEEL_<FLAG> (dashes as underscores); the command line wins.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "KEEL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !set[f.Name] && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", env, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if o.node == "" {
		return nil, errors.New("-node is required (no hostname available)")
	}
	if o.commitTimeout <= 0 {
		return nil, errors.New("-raft-commit-timeout must be positive")
	}
	if o.raftLogStore != store.LogStoreWAL && o.raftLogStore != store.LogStoreBolt {
		return nil, fmt.Errorf("-raft-log-store must be %s or %s, not %q", store.LogStoreWAL, store.LogStoreBolt, o.raftLogStore)
	}
	if o.memory.limit != "" {
		if _, err := parseSize(o.memory.limit); err != nil {
			return nil, fmt.Errorf("-memory-limit: %w", err)
		}
	}
	if o.bootstrapExpect < 1 {
		return nil, errors.New("-bootstrap-expect must be at least 1")
	}
	if o.leases.MinutesBeforeEnd < 0 {
		return nil, errors.New("-lease-minutes-before-end must be 0 (no before_end_lease event) or more")
	}
	if o.leases.MinutesBeforeEnd == 0 {
		o.leases.MinutesBeforeEnd = -1 // LeaseSettings: negative is none, 0 its default
	}
	if o.leases.CleaningTime < 0 {
		return nil, errors.New("-lease-cleaning-time must not be negative")
	}
	if gossipKey != "" {
		key, err := cluster.ParseGossipKey(gossipKey)
		if err != nil {
			return nil, fmt.Errorf("-gossip-key: %w", err)
		}
		o.gossipKey = key
	}
	hosts, err := keelhttp.NewHostPolicy(strings.Split(allowedHosts, ","))
	if err != nil {
		return nil, fmt.Errorf("-allowed-hosts: %w", err)
	}
	o.hosts = hosts
	for name, addr := range map[string]string{"-http-addr": o.httpAddr, "-gossip-addr": o.gossipAddr,
		"-raft-addr": o.raftAddr, "-actor-addr": o.actorAddr, "-health-addr": o.healthAddr, "-blazar-addr": o.blazarAddr,
		"-mogan-addr": o.moganAddr} {
		if (name == "-blazar-addr" || name == "-mogan-addr") && addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%s %q: %w", name, addr, err)
		}
	}
	if o.auth.NoauthAdmin && o.auth.Strategy != keelhttp.AuthKeystone && !loopback(o.httpAddr) {
		return nil, fmt.Errorf("-noauth-admin makes every request without X-Roles an administrator's: only with a loopback -http-addr, not %q", o.httpAddr)
	}
	if o.auth.NoauthAdmin && o.auth.Strategy != keelhttp.AuthKeystone && o.blazarAddr != "" && !loopback(o.blazarAddr) {
		return nil, fmt.Errorf("-noauth-admin makes every request without X-Roles an administrator's: only with a loopback -blazar-addr, not %q", o.blazarAddr)
	}
	if o.auth.NoauthAdmin && o.auth.Strategy != keelhttp.AuthKeystone && o.moganAddr != "" && !loopback(o.moganAddr) {
		return nil, fmt.Errorf("-noauth-admin makes every request without X-Roles an administrator's: only with a loopback -mogan-addr, not %q", o.moganAddr)
	}
	if _, err := keelhttp.NewAuthenticator(o.auth); err != nil {
		return nil, fmt.Errorf("-auth-strategy %s: %w", o.auth.Strategy, err)
	}
	return o, nil
}

// loopback reports whether addr (host:port) is on a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "keeld:", err)
		os.Exit(2)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "keeld: -log-level:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("node", o.node)
	if err := run(o, logger); err != nil {
		logger.Error("keeld failed", "err", err)
		os.Exit(1)
	}
}

// node is one running keeld: every part, in start order.
type node struct {
	store      *store.Node
	membership *cluster.Membership
	cluster    *protocluster.Cluster
	provider   *cluster.ActorProvider
	forwarder  *cluster.ActorForwarder
	raftMember *cluster.RaftMembership
	reconciler *actors.Reconciler
	api        *keelhttp.Server
	blazar     *keelhttp.BlazarServer
	mogan      *keelhttp.MoganServer
	amphorae   *amphoraNode
	// leaseEvents fires lease events on the leader (Blazar's event timer).
	leaseEvents *actors.EventScheduler
	// instances supervises bare-metal instances on the leader (resume, power sync).
	instances *actors.InstanceSupervisor
}

// endpointWriterQueueSize is the first size of the ring each peer's endpoint
// writer queues outgoing actor messages in (protoactor's default: 1M slots).
const endpointWriterQueueSize = 1024

func run(o *options, logger *slog.Logger) error {
	if err := os.MkdirAll(o.dataDir, 0o750); err != nil {
		return err
	}
	if err := applyMemory(o.memory, logger); err != nil {
		return err
	}
	logOut := &slogWriter{logger: logger}
	// Raft and memberlist report through go-metrics: into /metrics from their start.
	if err := metrics.BridgeGoMetrics(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	st, err := store.Open(store.Config{NodeID: o.node, DataDir: o.dataDir, RaftAddr: o.raftAddr, LogOutput: logOut,
		CommitTimeout: o.commitTimeout, TrailingLogs: o.raftTrailing, SnapshotThreshold: o.raftSnapshotAt,
		LogStore: o.raftLogStore})
	if err != nil {
		return err
	}
	n := &node{store: st}
	stopRelease := make(chan struct{})
	defer close(stopRelease)
	go releaseAfterBulk(st.State().AppliedIndex, 5*time.Second, stopRelease, logger)

	var joins []string
	for _, j := range strings.Split(o.join, ",") {
		if j = strings.TrimSpace(j); j != "" {
			joins = append(joins, j)
		}
	}
	n.membership, err = cluster.StartMembership(cluster.MembershipConfig{
		NodeName: o.node, GossipAddr: o.gossipAddr, Join: joins, LogOutput: logOut,
		SecretKey: o.gossipKey, PeersFile: filepath.Join(o.dataDir, "peers.json"),
		Meta: &clusterpb.NodeMeta{Name: o.node, RaftAddr: o.raftAddr, HttpAddr: o.httpAddr, HealthAddr: o.healthAddr,
			BootstrapExpect: int32(o.bootstrapExpect), RaftInitialized: st.HadState(), Joining: len(joins) > 0},
	})
	if err != nil {
		st.Close()
		return err
	}
	// Multi-node: started to join or bootstrap with others, or it remembers peers.
	if len(o.gossipKey) == 0 && (len(joins) > 0 || o.bootstrapExpect > 1 || len(n.membership.Peers()) > 0) {
		logger.Warn("SECURITY: gossip and node-to-node traffic are not encrypted or authenticated: anyone who reaches " +
			o.gossipAddr + " can join this cluster, become a Raft voter and learn its addresses. Set -gossip-key " +
			"(or KEEL_GOSSIP_KEY) on every node; generate one with: head -c 32 /dev/urandom | base64")
	}

	// The actor cluster: grains placed over gossip's alive members.
	actorHost, actorPortStr, _ := net.SplitHostPort(o.actorAddr)
	actorPort, err := strconv.Atoi(actorPortStr)
	if err != nil {
		return fmt.Errorf("-actor-addr port: %w", err)
	}
	actorLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: max(level(logger), slog.LevelError)})).
		With("node", o.node, "component", "protoactor")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return actorLog }))
	var remoteOpts []remote.ConfigOption
	if len(o.gossipKey) > 0 {
		// Actor traffic (grain calls, forwarded proposals, read-index and removal
		// requests) is TLS with the identity derived from the cluster key: a peer
		// without the key cannot connect, in either direction.
		tlsCfg, err := cluster.NodeTLS(o.gossipKey)
		if err != nil {
			return err
		}
		creds := credentials.NewTLS(tlsCfg)
		remoteOpts = append(remoteOpts, remote.WithServerOptions(grpc.Creds(creds)),
			remote.WithDialOptions(grpc.WithTransportCredentials(creds)))
	}
	// protoactor gives each peer's endpoint writer a ring of 1M message slots
	// up front (16 MB of pointers per peer, which every collection scans and
	// which the ring's tail makes resident as it goes round): a quarter of a
	// 3-node leader's heap under writes. The ring doubles when full, so it
	// starts small here and grows only as far as a burst needs.
	remoteOpts = append(remoteOpts, remote.WithEndpointWriterQueueSize(endpointWriterQueueSize))
	remoteCfg := remote.Configure(actorHost, actorPort, remoteOpts...)
	remoteCfg.MaxRetryCount = 1 // a dead peer costs one 2 s dial attempt, not five
	settings := actors.DefaultSettings
	settings.IdleTimeout = o.grainIdle
	settings.SettledIdleTimeout = o.grainSettledIdle
	settings.ProvisionDelay = o.provisionDelay
	settings.PowerSyncInterval = o.powerSync
	n.amphorae, err = newAmphoraNode(o, st, n.membership, logger)
	if err != nil {
		n.shutdown(logger, false)
		return err
	}
	// end_lease deletes the lease's instances; the log line stays.
	leaseHook := &actors.InstanceLeaseHook{Next: actors.LogNotifier{Logger: logger}, Store: st, Logger: logger}
	kinds := actors.Kinds(system, &actors.Runtime{Store: st, Settings: settings, Logger: logger, Amphorae: n.amphorae.cfg,
		Leases: o.leases, Notifier: leaseHook})
	placement := cluster.NewPlacementLookup()
	n.provider = cluster.NewActorProvider(n.membership, cluster.ProviderOptions{
		Voters:    func() []string { return voterNames(st) },
		HasLeader: func() bool { id, _ := st.Leader(); return id != "" },
		OnFence: func(fenced bool, why string) {
			if fenced {
				logger.Warn("fenced: cut off from the quorum; hosting no grains", "why", why)
			} else {
				logger.Info("unfenced: the quorum is reachable again")
			}
			placement.SetFenced(fenced)
		},
	})
	cfg := protocluster.Configure("keel", n.provider, placement, remoteCfg,
		protocluster.WithKinds(kinds...), protocluster.WithRequestTimeout(3*time.Second))
	// protoactor's own gossip is off (its loop ticks once a day): memberlist is
	// the only judge of liveness. keel uses none of what it carries (pubsub,
	// topology consensus); its heartbeat expiry would block a paused-and-resumed
	// member's ActorSystem ID forever (see cluster.ActorProvider); and its actor
	// reads protoactor's member list and block list without their locks while
	// topology updates write them (data races under -race).
	cfg.GossipInterval = 24 * time.Hour
	cfg.HeartbeatExpiration = 365 * 24 * time.Hour
	n.cluster = protocluster.New(system, cfg)
	n.cluster.StartMember()

	if _, err := cluster.SpawnStoreActor(system, st); err != nil {
		return fmt.Errorf("store actor: %w", err)
	}
	n.forwarder = cluster.NewActorForwarder(system, n.membership)
	st.SetForwarder(n.forwarder)
	n.raftMember = cluster.StartRaftMembership(st, n.membership, o.bootstrapExpect, len(joins) > 0, logger)

	n.amphorae.start(n.cluster)
	grains := actors.NewClient(n.cluster)
	grains.SetWriteLeader(func() string {
		id, _ := st.Leader()
		return n.membership.ActorAddress(id)
	})
	n.reconciler = &actors.Reconciler{Store: st, Client: grains, Logger: logger, WatchAmphorae: n.amphorae.cfg != nil}
	n.reconciler.Start()
	n.leaseEvents = &actors.EventScheduler{Store: st, Client: grains, Logger: logger}
	n.leaseEvents.Start()
	leaseHook.SetClient(grains)
	n.instances = &actors.InstanceSupervisor{Store: st, Client: grains, Logger: logger, PowerSyncInterval: o.powerSync}
	n.instances.Start()

	auth, err := keelhttp.NewAuthenticator(o.auth)
	if err != nil {
		n.shutdown(logger, false)
		return err
	}
	if auth.Strategy() == keelhttp.AuthNoauth && !loopback(o.httpAddr) {
		logger.Warn("SECURITY: -auth-strategy noauth on " + o.httpAddr + ": anyone who reaches it chooses their project " +
			"and roles (X-Project-Id, X-Roles). Use -auth-strategy keystone beyond loopback.")
	}
	if auth.Strategy() == keelhttp.AuthNoauth && o.blazarAddr != "" && !loopback(o.blazarAddr) {
		logger.Warn("SECURITY: -auth-strategy noauth on " + o.blazarAddr + " (Blazar): anyone who reaches it chooses their " +
			"project and roles (X-Project-Id, X-Roles). Use -auth-strategy keystone beyond loopback.")
	}
	if auth.Strategy() == keelhttp.AuthNoauth && o.moganAddr != "" && !loopback(o.moganAddr) {
		logger.Warn("SECURITY: -auth-strategy noauth on " + o.moganAddr + " (Mogan): anyone who reaches it chooses their " +
			"project and roles (X-Project-Id, X-Roles). Use -auth-strategy keystone beyond loopback.")
	}
	metrics.RegisterActiveGrains(placement.Active)
	metrics.RegisterMembers(n.membership.CountByState)
	metrics.RegisterHeartbeats(n.amphorae.heartbeatCounts)
	apiCfg := keelhttp.Config{Store: st, Grains: grains, Logger: logger, ActiveGrains: placement.Active, Placement: placement.Placement,
		Heartbeats: n.amphorae.counters, Auth: auth,
		Hosts:  o.hosts,
		Status: func() cluster.NodeStatus { return cluster.Status(st, n.membership) }}
	n.api = keelhttp.NewServer(apiCfg)
	ln, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		n.shutdown(logger, false)
		return fmt.Errorf("listen %s: %w", o.httpAddr, err)
	}
	// Blazar's API on its own listener (upstream's own port, so catalogs name a
	// distinct endpoint), with the same authenticator.
	var blazarLn net.Listener
	if o.blazarAddr != "" {
		if blazarLn, err = net.Listen("tcp", o.blazarAddr); err != nil {
			ln.Close()
			n.shutdown(logger, false)
			return fmt.Errorf("listen %s: %w", o.blazarAddr, err)
		}
		n.blazar = keelhttp.NewBlazarServer(apiCfg)
	}
	// Mogan's API likewise (Mogan's port).
	var moganLn net.Listener
	if o.moganAddr != "" {
		if moganLn, err = net.Listen("tcp", o.moganAddr); err != nil {
			ln.Close()
			if blazarLn != nil {
				blazarLn.Close()
			}
			n.shutdown(logger, false)
			return fmt.Errorf("listen %s: %w", o.moganAddr, err)
		}
		n.mogan = keelhttp.NewMoganServer(apiCfg)
	}
	served := make(chan error, 3)
	go func() { served <- n.api.Serve(ln) }()
	if n.blazar != nil {
		go func() { served <- n.blazar.Serve(blazarLn) }()
	}
	if n.mogan != nil {
		go func() { served <- n.mogan.Serve(moganLn) }()
	}
	logger.Info("keeld started", "http", o.httpAddr, "blazar", o.blazarAddr, "mogan", o.moganAddr, "auth", auth.Strategy(), "gossip", o.gossipAddr, "raft", o.raftAddr,
		"actor", o.actorAddr, "data_dir", o.dataDir, "bootstrap_expect", o.bootstrapExpect, "join", o.join)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case sig := <-sigs:
		logger.Info("shutting down", "signal", sig.String())
		n.shutdown(logger, true)
		return nil
	case err := <-served:
		n.shutdown(logger, false)
		return err
	}
}

// shutdown stops the node; graceful also leaves the cluster (leadership handed
// over, gossip leave, removal from the Raft configuration) before stopping.
func (n *node) shutdown(logger *slog.Logger, graceful bool) {
	if n.api != nil {
		if err := n.api.Shutdown(5 * time.Second); err != nil {
			logger.Warn("http shutdown", "err", err)
		}
	}
	if n.blazar != nil {
		if err := n.blazar.Shutdown(5 * time.Second); err != nil {
			logger.Warn("blazar http shutdown", "err", err)
		}
	}
	if n.mogan != nil {
		if err := n.mogan.Shutdown(5 * time.Second); err != nil {
			logger.Warn("mogan http shutdown", "err", err)
		}
	}
	if graceful {
		if n.amphorae != nil {
			n.amphorae.flushStats()
		}
		cluster.LeaveGracefully(n.store, n.membership, n.forwarder, logger)
	}
	if n.reconciler != nil {
		n.reconciler.Stop()
	}
	if n.leaseEvents != nil {
		n.leaseEvents.Stop()
	}
	if n.instances != nil {
		n.instances.Stop()
	}
	if n.amphorae != nil {
		n.amphorae.shutdown()
	}
	if n.raftMember != nil {
		n.raftMember.Stop()
	}
	if n.cluster != nil {
		_ = n.provider.Shutdown(false)
		n.cluster.Shutdown(false)
	}
	if err := n.store.Close(); err != nil {
		logger.Warn("store close", "err", err)
	}
	if err := n.membership.Shutdown(); err != nil {
		logger.Warn("gossip shutdown", "err", err)
	}
	logger.Info("stopped")
}

// voterNames lists the Raft voters (nil while there is no configuration).
func voterNames(st *store.Node) []string {
	servers, err := st.Configuration()
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			out = append(out, string(s.ID))
		}
	}
	return out
}

func level(l *slog.Logger) slog.Level {
	for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if l.Enabled(context.Background(), lv) {
			return lv
		}
	}
	return slog.LevelError
}

// slogWriter routes raft's and memberlist's own log lines into the node's logger.
type slogWriter struct{ logger *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	switch {
	case strings.Contains(msg, "[ERR") || strings.Contains(msg, "[ERROR]"):
		w.logger.Error(msg)
	default:
		w.logger.Warn(msg)
	}
	return len(p), nil
}
