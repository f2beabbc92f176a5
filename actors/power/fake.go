package power

import (
	"context"
	"sync"
)

// Fake is an in-memory driver: one power state per BMC endpoint (address:port),
// Off until something powers it on. Safe for concurrent use. It checks nothing
// about credentials; a BMC made unreachable with SetUnreachable fails every call.
type Fake struct {
	mu          sync.Mutex
	state       map[string]PowerState
	unreachable map[string]bool
	calls       map[string]int
}

// NewFake returns a fake world where every host is off.
func NewFake() *Fake {
	return &Fake{state: map[string]PowerState{}, unreachable: map[string]bool{}, calls: map[string]int{}}
}

// State returns the BMC's power state (Off if never set).
func (f *Fake) State(ctx context.Context, bmc BMC) (PowerState, error) {
	if err := ctx.Err(); err != nil {
		return Unknown, &Error{Driver: "fake", Op: "power status", Endpoint: bmc.Endpoint(), Reason: err.Error()}
	}
	k := bmc.Endpoint()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable[k] {
		return Unknown, &Error{Driver: "fake", Op: "power status", Endpoint: k, Reason: "BMC unreachable (fake)"}
	}
	if s, ok := f.state[k]; ok {
		return s, nil
	}
	return Off, nil
}

// Set applies action at once: on, reboot and soft_reboot leave the host on; off
// and soft_off leave it off.
func (f *Fake) Set(ctx context.Context, bmc BMC, action Action) error {
	k := bmc.Endpoint()
	op := "power " + string(action)
	if err := ctx.Err(); err != nil {
		return &Error{Driver: "fake", Op: op, Endpoint: k, Reason: err.Error()}
	}
	target := action.Target()
	if target == Unknown {
		return &Error{Driver: "fake", Op: op, Endpoint: k, Reason: "unknown action"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable[k] {
		return &Error{Driver: "fake", Op: op, Endpoint: k, Reason: "BMC unreachable (fake)"}
	}
	f.calls[k]++
	f.state[k] = target
	return nil
}

// Put sets a host's power state behind the driver's back (someone at the BMC).
func (f *Fake) Put(bmc BMC, s PowerState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[bmc.Endpoint()] = s
}

// SetUnreachable makes every call for bmc fail (true) or work again (false).
func (f *Fake) SetUnreachable(bmc BMC, unreachable bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unreachable[bmc.Endpoint()] = unreachable
}

// Calls is how many Set calls for bmc succeeded.
func (f *Fake) Calls(bmc BMC) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[bmc.Endpoint()]
}
