package compute

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/google/uuid"
)

// Noop is Octavia's noop compute driver: it records what it is asked, answers as if
// every amphora ran, and starts nothing. API tests use it (with the grain's noop
// amphora path, which never calls an agent).
type Noop struct {
	mu        sync.Mutex
	instances map[string]Instance // by compute id
	calls     []Call              // the last maxNoopCalls
}

// maxNoopCalls bounds the call record of a long-running noop node.
const maxNoopCalls = 10000

// Call is one request the noop driver received.
type Call struct {
	Op        string // "build", "status", "delete", "list", "set-controllers"
	ComputeID string
	AmphoraID string
	// Controllers is the list of a build or set-controllers.
	Controllers []string
}

// NewNoop returns an empty noop driver.
func NewNoop() *Noop { return &Noop{instances: map[string]Instance{}} }

// Name is "noop".
func (*Noop) Name() string { return "noop" }

// Build records the amphora under a new compute id (a UUID, as Nova's server ids).
// Its Addr names Octavia's agent port on an address derived from the amphora id in
// 172.16.0.0/12; nothing listens there.
func (n *Noop) Build(ctx context.Context, spec Spec) (Instance, error) {
	if err := spec.Check(); err != nil {
		return Instance{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.record(Call{Op: "build", AmphoraID: spec.AmphoraID, Controllers: slices.Clone(spec.Controllers)})
	for _, in := range n.instances {
		if in.AmphoraID == spec.AmphoraID {
			return in, nil
		}
	}
	u := uuid.NewSHA1(uuid.NameSpaceOID, []byte("keel-noop-amphora/"+spec.AmphoraID))
	in := Instance{
		ComputeID: uuid.NewString(), AmphoraID: spec.AmphoraID, VIP: spec.VIP, State: Running,
		Addr: fmt.Sprintf("172.%d.%d.%d:9443", 16+int(u[0]&0x0f), u[1], 1+int(u[2])%254),
	}
	n.instances[in.ComputeID] = in
	n.calls[len(n.calls)-1].ComputeID = in.ComputeID
	return in, nil
}

// Status is Running for a built, not deleted amphora, else Gone.
func (n *Noop) Status(ctx context.Context, computeID string) (Instance, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.record(Call{Op: "status", ComputeID: computeID})
	if in, ok := n.instances[computeID]; ok {
		return in, nil
	}
	return Instance{ComputeID: computeID, State: Gone}, nil
}

// Delete forgets the amphora.
func (n *Noop) Delete(ctx context.Context, computeID string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	in := n.instances[computeID]
	n.record(Call{Op: "delete", ComputeID: computeID, AmphoraID: in.AmphoraID})
	delete(n.instances, computeID)
	return nil
}

// List returns the recorded amphorae, by compute id.
func (n *Noop) List(ctx context.Context) ([]Instance, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.record(Call{Op: "list"})
	out := make([]Instance, 0, len(n.instances))
	for _, in := range n.instances {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ComputeID < out[j].ComputeID })
	return out, nil
}

// SetControllers records the new list.
func (n *Noop) SetControllers(ctx context.Context, computeID string, controllers []string) (Instance, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	in, ok := n.instances[computeID]
	n.record(Call{Op: "set-controllers", ComputeID: computeID, AmphoraID: in.AmphoraID, Controllers: slices.Clone(controllers)})
	if !ok {
		return Instance{ComputeID: computeID, State: Gone}, fmt.Errorf("compute: no amphora with compute id %s", computeID)
	}
	return in, nil
}

func (n *Noop) record(c Call) {
	if len(n.calls) == maxNoopCalls {
		n.calls = append(n.calls[:0], n.calls[maxNoopCalls/2:]...)
	}
	n.calls = append(n.calls, c)
}

// Calls returns the requests received so far (the last few thousand), oldest first.
func (n *Noop) Calls() []Call {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

// Vanish makes a recorded amphora Gone, as if its VM had died (tests of the grain's
// failover use it).
func (n *Noop) Vanish(computeID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.instances, computeID)
}
