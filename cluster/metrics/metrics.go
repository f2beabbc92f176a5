// Package metrics owns keeld's Prometheus registry: every metric a node exports
// on GET /metrics is declared here, named keel_*, with the helpers the parts of
// the node use to record into it cheaply (label children resolved once, not per
// event). It also bridges what hashicorp/raft and memberlist emit through
// hashicorp/go-metrics into the same registry (BridgeGoMetrics), so Raft is not
// measured twice. Values read from elsewhere at scrape time (gossip members,
// heartbeat receiver counters, active grains) are registered by keeld with the
// Register* functions. docs/metrics.md lists every metric.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the node's one registry: the keel_* metrics, the Go runtime's
// (go_*) and the process's (process_*).
var Registry = prometheus.NewRegistry()

// Handler renders Registry in Prometheus's text format (net/http: the HTTP
// server adapts it). A collector that fails is logged to logger and left out;
// the rest is still served.
func Handler(logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		ErrorLog: gatherErrorLog{logger}})
}

// gatherErrorLog is promhttp's error log on the node's logger.
type gatherErrorLog struct{ logger *slog.Logger }

func (l gatherErrorLog) Println(v ...any) { l.logger.Warn("metrics: " + fmt.Sprint(v...)) }

// latencyBuckets (seconds) span a 20 µs read to a 12 s request lifetime.
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}

// slowBuckets (seconds) are for what takes from milliseconds to minutes:
// snapshots, failovers, lease event lateness.
var slowBuckets = []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

func newCounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func newHistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}

var (
	httpRequests = newCounterVec("keel_http_requests_total",
		"API requests answered, by listener, route template, method and status code.",
		"listener", "route", "method", "code")
	httpDuration = newHistogramVec("keel_http_request_duration_seconds",
		"Time from reading a request to its response being ready, by listener, route template, method and status code.",
		latencyBuckets, "listener", "route", "method", "code")

	grainCalls = newCounterVec("keel_grain_calls_total",
		"Grain calls made by this node (HTTP handlers, reconciler, schedulers), retries included, by grain kind and outcome (ok, error: the grain refused, timeout: no decision before the deadline).",
		"kind", "outcome")
	grainCallDuration = newHistogramVec("keel_grain_call_duration_seconds",
		"Grain call latency, retries included, by grain kind and outcome.", latencyBuckets, "kind", "outcome")
	grainActivations = newCounterVec("keel_grain_activations_total",
		"Grains activated on this node, by kind.", "kind")
	grainPassivations = newCounterVec("keel_grain_passivations_total",
		"Grains stopped on this node (idle passivation, or the node's shutdown), by kind.", "kind")

	fsmApplyDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "keel_fsm_apply_duration_seconds",
		Help: "Time the FSM took to apply one batch of Raft log entries (decode, apply every command, publish the tables).", Buckets: latencyBuckets})
	fsmCommands = prometheus.NewCounter(prometheus.CounterOpts{Name: "keel_fsm_commands_applied_total",
		Help: "Commands the FSM applied (every outcome; a Raft entry carries a batch of them)."})

	snapshotDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "keel_snapshot_persist_duration_seconds",
		Help: "Time to write one FSM snapshot to the snapshot store.", Buckets: slowBuckets})
	snapshotSize = prometheus.NewGauge(prometheus.GaugeOpts{Name: "keel_snapshot_size_bytes",
		Help: "Size of the last FSM snapshot this node wrote."})
	restoreDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "keel_snapshot_restore_duration_seconds",
		Help: "Time to restore the FSM from a snapshot (at start, or one sent by the leader).", Buckets: slowBuckets})

	failovers = newCounterVec("keel_amphora_failovers_total",
		"Load balancer failovers started by this node's grains, by trigger (silence: heartbeats stopped; api: an operator's request).", "trigger")
	failoverDuration = newHistogramVec("keel_amphora_failover_duration_seconds",
		"Time from a failover's start to its provider step's end (replacement built and configured, or failed), by outcome (ok, error).",
		slowBuckets, "outcome")

	leaseLateness = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "keel_lease_event_lateness_seconds",
		Help: "How late the leader's scheduler fired lease events: the moment the event ran minus its time.", Buckets: slowBuckets})

	powerActions = newCounterVec("keel_instance_power_actions_total",
		"Power actions on bare-metal hosts (BMC calls) by instance grains on this node, by action and outcome (ok, error).",
		"action", "outcome")
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		httpRequests, httpDuration, grainCalls, grainCallDuration, grainActivations, grainPassivations,
		fsmApplyDuration, fsmCommands, snapshotDuration, snapshotSize, restoreDuration,
		failovers, failoverDuration, leaseLateness, powerActions)
	// Series a dashboard plots from zero, before the first event.
	for _, trigger := range []string{FailoverSilence, FailoverAPI} {
		failovers.WithLabelValues(trigger)
	}
	for _, ok := range []bool{true, false} {
		failoverDuration.WithLabelValues(outcomeOf(ok))
	}
}

// ObserveFSMApply records one FSM batch: how long it took and how many
// commands it applied.
func ObserveFSMApply(elapsed time.Duration, commands int) {
	fsmApplyDuration.Observe(elapsed.Seconds())
	fsmCommands.Add(float64(commands))
}

// ObserveSnapshot records one snapshot written: its duration and size.
func ObserveSnapshot(elapsed time.Duration, bytes int64) {
	snapshotDuration.Observe(elapsed.Seconds())
	snapshotSize.Set(float64(bytes))
}

// ObserveRestore records one snapshot restored.
func ObserveRestore(elapsed time.Duration) { restoreDuration.Observe(elapsed.Seconds()) }

// Failover triggers.
const (
	FailoverSilence = "silence"
	FailoverAPI     = "api"
)

// FailoverStarted counts a failover a grain committed.
func FailoverStarted(trigger string) { failovers.WithLabelValues(trigger).Inc() }

// FailoverEnded records a failover's duration once its provider step ended.
func FailoverEnded(elapsed time.Duration, ok bool) {
	failoverDuration.WithLabelValues(outcomeOf(ok)).Observe(elapsed.Seconds())
}

// ObserveLeaseEventLateness records how late one lease event ran.
func ObserveLeaseEventLateness(late time.Duration) { leaseLateness.Observe(max(late, 0).Seconds()) }

// PowerAction counts one BMC power action (action is power.Action: a handful
// of values).
func PowerAction(action string, ok bool) { powerActions.WithLabelValues(action, outcomeOf(ok)).Inc() }

func outcomeOf(ok bool) string {
	if ok {
		return "ok"
	}
	return "error"
}
