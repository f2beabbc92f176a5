// Package compute is keel's compute driver seam, Octavia's `compute_driver`: it owns
// *where an amphora runs* — starting the keel-agent that is the amphora, telling
// whether it still runs, finding it again after the node that started it restarted,
// and removing it with everything it left behind. How an amphora is configured (the
// agent API, agent/agentclient) and how its VIP is wired are other seams; this package
// only chooses the VIP address (VIPAllocator), it never plugs it.
//
// Two drivers exist:
//   - Noop (Octavia's noop compute driver) records what it is asked and runs nothing,
//     so API tests stay fast;
//   - Local runs each amphora as a real keel-agent process on this host, in its own
//     process group and state directory, listening on its own loopback port, so it
//     survives the death of the keeld that started it as a VM survives its
//     controller.
//
// A netns driver (one network namespace per amphora) and drivers for agents on other
// hosts fit the same interface; docs/amphora-drivers.md describes the seam.
//
// The caller (an amphora grain) is the single writer of one amphora: a driver does
// not arbitrate between two callers driving the same amphora at once beyond keeping
// its own files consistent.
package compute

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"keel/agent/ident"
)

// Spec is what an amphora is built from: its identity, the PKI and heartbeat settings
// its agent runs with, and its VIP.
type Spec struct {
	// AmphoraID is the amphora's UUID (the agent's -amphora-id).
	AmphoraID string
	// ServerCert is the agent's server certificate as PEM (leaf first, then chain);
	// ServerKey its private key as PEM. Controllers verify the agent with them.
	ServerCert, ServerKey []byte
	// ClientCA is the PEM CA bundle that signs the controllers' client certificates:
	// the agent accepts only connections presenting one of them.
	ClientCA []byte
	// HeartbeatKey is the cluster's HMAC key for heartbeats.
	HeartbeatKey string
	// Controllers are the UDP host:port targets of the heartbeats (every node's
	// -health-addr).
	Controllers []string
	// HeartbeatInterval is the heartbeat period (Octavia's default is 10 s).
	HeartbeatInterval time.Duration
	// VIP is the load balancer's VIP address (see VIPAllocator). Drivers record it;
	// those that own a data-plane network (netns, later) plug it.
	VIP string
}

// Check refuses a spec no driver can build from.
func (s *Spec) Check() error {
	var missing []string
	if !ident.ValidUUID(s.AmphoraID) {
		return fmt.Errorf("compute: amphora id %q is not a UUID", s.AmphoraID)
	}
	for _, f := range []struct {
		name string
		v    []byte
	}{{"server certificate", s.ServerCert}, {"server key", s.ServerKey}, {"client CA", s.ClientCA}} {
		if len(f.v) == 0 {
			missing = append(missing, f.name)
		}
	}
	if s.HeartbeatKey == "" {
		missing = append(missing, "heartbeat key")
	}
	if len(missing) > 0 {
		return fmt.Errorf("compute: amphora %s: missing %s", s.AmphoraID, strings.Join(missing, ", "))
	}
	if s.HeartbeatInterval <= 0 {
		return fmt.Errorf("compute: amphora %s: heartbeat interval must be positive", s.AmphoraID)
	}
	for _, c := range s.Controllers {
		if _, _, err := net.SplitHostPort(c); err != nil {
			return fmt.Errorf("compute: amphora %s: controller %q is not host:port", s.AmphoraID, c)
		}
	}
	return nil
}

// State is what a driver knows of an amphora's compute instance.
type State string

const (
	// Running: the agent process (or VM) exists. Whether its API answers is the
	// caller's to find out (GET /info).
	Running State = "RUNNING"
	// Gone: the driver is sure nothing runs: never built, deleted, or its process
	// died (crash, kill, host reboot). A gone amphora needs a failover.
	Gone State = "GONE"
)

// Instance is a built amphora as its driver sees it.
type Instance struct {
	// ComputeID is the driver's handle, recorded as the amphora's compute_id; every
	// other call takes it. Its format belongs to the driver.
	ComputeID string `json:"compute_id"`
	AmphoraID string `json:"amphora_id"`
	// Addr is the agent API's host:port (mutual TLS). Its host is the amphora's
	// lb_network_ip. Local agents share 127.0.0.1 and differ by port, so a caller
	// that lost Addr asks Status again rather than rebuilding it from lb_network_ip.
	Addr  string `json:"addr"`
	VIP   string `json:"vip"`
	State State  `json:"state"`
}

// NetworkIP is the host part of Addr (the amphora's lb_network_ip).
func (i Instance) NetworkIP() string {
	host, _, err := net.SplitHostPort(i.Addr)
	if err != nil {
		return i.Addr
	}
	return host
}

// Driver is the compute seam an amphora grain drives.
type Driver interface {
	// Name is the driver's name as -amphora-driver spells it ("noop", "local").
	Name() string
	// Build starts the amphora described by spec and returns once its agent runs (for
	// local: listens on its port), not necessarily once its API answers. Building an
	// amphora that already runs returns it unchanged, so a caller that crashed
	// mid-Build may call it again. A missing dependency is a *MissingError whose
	// message says what to install.
	Build(ctx context.Context, spec Spec) (Instance, error)
	// Status tells whether the amphora still runs, with its current address. An
	// unknown compute id is Gone, not an error; an error means the driver cannot tell
	// (e.g. ErrNotLocal: the amphora runs on another host).
	Status(ctx context.Context, computeID string) (Instance, error)
	// Delete stops the amphora — its agent and every haproxy/keepalived it runs — and
	// removes all its state. Deleting what is already gone succeeds.
	Delete(ctx context.Context, computeID string) error
	// List returns every amphora this driver can see (for local: every state
	// directory under its base), running or not, so a node that restarted can adopt
	// agents it started before and remove those no amphora record names any more.
	List(ctx context.Context) ([]Instance, error)
	// SetControllers points the amphora's heartbeats at a new controller list (nodes
	// joined or left) without interrupting its data plane; the returned Instance may
	// carry a new Addr.
	SetControllers(ctx context.Context, computeID string, controllers []string) (Instance, error)
}

// ErrNotLocal is returned for a compute id this driver cannot act on from this host
// (the amphora runs on another host). The caller must not take it for Gone.
var ErrNotLocal = errors.New("compute: amphora is not on this host")

// MissingError is a dependency an amphora needs that this host lacks. Its message
// says exactly what to install; the grain puts the amphora in ERROR with it.
type MissingError struct {
	// Program is what is missing ("keel-agent", "haproxy").
	Program string
	// Looked lists where it was looked for.
	Looked []string
	// Install is the command that provides it ("make build", "apt-get install haproxy").
	Install string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s not found (looked for %s): run `%s`", e.Program, strings.Join(e.Looked, ", "), e.Install)
}

var (
	_ Driver = (*Noop)(nil)
	_ Driver = (*Local)(nil)
)
