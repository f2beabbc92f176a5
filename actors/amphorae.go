package actors

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"keel/actors/compute"
	"keel/cluster/amphorapki"
)

// Amphorae is what grains need to run real amphorae (Octavia's amphora provider
// with a compute driver). A nil *Amphorae in the Runtime is keel's noop provider:
// amphorae are records, and the provider step makes a tree ACTIVE after
// Settings.ProvisionDelay.
type Amphorae struct {
	// Driver starts, finds and removes amphorae (actors/compute: local).
	Driver compute.Driver
	// VIPs allocates VIP addresses from the driver's range (-vip-cidr).
	VIPs *compute.VIPAllocator
	// Trust returns the cluster's amphora CA, this node's client certificate and
	// the heartbeat key, once the store holds them.
	Trust func() (*AmphoraTrust, error)
	// Controllers returns where agents send heartbeats: every node's -health-addr.
	Controllers func() []string
	// Forget drops a deleted amphora's replay state from the heartbeat verifier.
	Forget func(amphoraID string)
	// HeartbeatInterval is how often agents send heartbeats; HeartbeatTimeout is
	// the silence after which an amphora is failed over (Octavia's
	// heartbeat_interval and heartbeat_timeout).
	HeartbeatInterval, HeartbeatTimeout time.Duration
	// BuildTimeout bounds one amphora's build (start and first answer of /info).
	BuildTimeout time.Duration
	// CertValidity is how long an amphora's certificate is valid (Octavia's
	// cert_validity_time, two years); it is rotated within the last two weeks (or
	// the last half, when shorter).
	CertValidity time.Duration
	// Stats writes the traffic counters grains accumulate from heartbeats (the
	// node's flusher, -stats-interval); nil: statistics are not kept.
	Stats *StatsFlusher
}

// AmphoraTrust is the TLS material a node uses with its amphorae.
type AmphoraTrust struct {
	CA           *amphorapki.CA
	Node         *amphorapki.Issued
	HeartbeatKey string
}

// IssueAmphora issues an amphora's server certificate, valid for the agent's
// loopback listen address.
func (t *AmphoraTrust) IssueAmphora(amphoraID string) (*amphorapki.Issued, error) {
	return t.CA.IssueAmphora(amphoraID, netip.MustParseAddr("127.0.0.1"))
}

// ClientTLS is the node's mutual-TLS configuration towards one amphora's agent.
func (t *AmphoraTrust) ClientTLS(amphoraID string) (*tls.Config, error) {
	return amphorapki.ClientTLS(t.CA.CertPEM(), t.Node, amphoraID)
}

// defaults fills the zero durations with Octavia's (interval 10 s, timeout 60 s)
// and a build bound of 30 s.
func (a *Amphorae) defaults() {
	if a.HeartbeatInterval <= 0 {
		a.HeartbeatInterval = 10 * time.Second
	}
	if a.HeartbeatTimeout <= 0 {
		a.HeartbeatTimeout = 60 * time.Second
	}
	if a.BuildTimeout <= 0 {
		a.BuildTimeout = 30 * time.Second
	}
	if a.CertValidity <= 0 {
		a.CertValidity = amphorapki.DefaultValidity
	}
	if a.Forget == nil {
		a.Forget = func(string) {}
	}
}

// TrustFrom returns a Trust function that loads the CA from the PEM material
// secrets returns (nil, nil while the store holds none) and issues this node's
// client certificate once.
func TrustFrom(node string, opts amphorapki.Options, secrets func() (caCert, caKey []byte, heartbeatKey string, err error)) func() (*AmphoraTrust, error) {
	var mu sync.Mutex
	var cached *AmphoraTrust
	return func() (*AmphoraTrust, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != nil {
			return cached, nil
		}
		cert, key, hb, err := secrets()
		if err != nil {
			return nil, err
		}
		if len(cert) == 0 {
			return nil, fmt.Errorf("the cluster's amphora CA is not stored yet")
		}
		ca, err := amphorapki.Load(amphorapki.Material{CertPEM: cert, KeyPEM: key}, opts)
		if err != nil {
			return nil, fmt.Errorf("amphora CA: %w", err)
		}
		issued, err := ca.IssueNode(node)
		if err != nil {
			return nil, fmt.Errorf("node certificate: %w", err)
		}
		cached = &AmphoraTrust{CA: ca, Node: issued, HeartbeatKey: hb}
		return cached, nil
	}
}
