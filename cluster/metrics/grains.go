package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Grain call outcomes.
type Outcome int

const (
	// CallOK: the grain answered.
	CallOK Outcome = iota
	// CallError: the grain refused (not found, conflict, invalid, …).
	CallError
	// CallTimeout: no decision before the call's deadline (or its caller left).
	CallTimeout
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "error", "timeout"}

// GrainKind records the calls, activations and passivations of one grain
// kind, its label children resolved once.
type GrainKind struct {
	calls       [numOutcomes]prometheus.Counter
	latency     [numOutcomes]prometheus.Observer
	activations prometheus.Counter
	passivation prometheus.Counter
}

// GrainKindOf returns the recorder of kind (the protoactor kind name:
// LoadBalancer, Lease, Instance, …). Callers keep it in a package variable.
func GrainKindOf(kind string) *GrainKind {
	g := &GrainKind{
		activations: grainActivations.WithLabelValues(kind),
		passivation: grainPassivations.WithLabelValues(kind),
	}
	for o, name := range outcomeNames {
		g.calls[o] = grainCalls.WithLabelValues(kind, name)
		g.latency[o] = grainCallDuration.WithLabelValues(kind, name)
	}
	return g
}

// Call records one grain call, retries included.
func (g *GrainKind) Call(o Outcome, elapsed time.Duration) {
	g.calls[o].Inc()
	g.latency[o].Observe(elapsed.Seconds())
}

// Activated counts a grain of the kind started on this node.
func (g *GrainKind) Activated() { g.activations.Inc() }

// Passivated counts a grain of the kind stopped on this node.
func (g *GrainKind) Passivated() { g.passivation.Inc() }
