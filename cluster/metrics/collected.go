package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Values other parts of keel already keep are read when Prometheus scrapes,
// not counted a second time: keeld registers a reader for each (once per
// process; a second registration is ignored).

// RegisterActiveGrains exports how many grains this node hosts.
func RegisterActiveGrains(active func() int64) {
	register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "keel_grains_active",
		Help: "Grains this node hosts now (every kind)."}, func() float64 { return float64(active()) }))
}

// RegisterMembers exports gossip's members by state (alive, suspect, dead,
// left), self included.
func RegisterMembers(countByState func() map[string]int) {
	register(&membersCollector{count: countByState})
}

var membersDesc = prometheus.NewDesc("keel_gossip_members",
	"Members gossip knows, self included, by state (alive, suspect, dead, left).", []string{"state"}, nil)

type membersCollector struct{ count func() map[string]int }

func (c *membersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- membersDesc }

func (c *membersCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.count()
	for _, state := range []string{"alive", "suspect", "dead", "left"} {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(counts[state]), state)
	}
}

// HeartbeatCounts are the heartbeat receiver's counters since it started
// (cluster/healthreceiver.Counters, and the handled heartbeats that did not
// reach their amphora's grain).
type HeartbeatCounts struct {
	Received, Accepted, Handled, Undelivered uint64
	// Rejected by reason: forged, replayed, stale, malformed, queue_full, late.
	Rejected map[string]uint64
}

// RegisterHeartbeats exports the heartbeat receiver's counters; read returns
// false while the node runs no receiver (nothing is exported then).
func RegisterHeartbeats(read func() (HeartbeatCounts, bool)) {
	register(&heartbeatsCollector{read: read})
}

var (
	heartbeatsReceived = prometheus.NewDesc("keel_heartbeats_received_total",
		"Amphora heartbeat datagrams this node's receiver read.", nil, nil)
	heartbeatsAccepted = prometheus.NewDesc("keel_heartbeats_accepted_total",
		"Heartbeats whose signature, sequence and time verified.", nil, nil)
	heartbeatsRejected = prometheus.NewDesc("keel_heartbeats_rejected_total",
		"Heartbeats refused, by reason (forged, replayed, stale, malformed; queue_full and late: verified, then dropped).",
		[]string{"reason"}, nil)
	heartbeatsHandled = prometheus.NewDesc("keel_heartbeats_handled_total",
		"Verified heartbeats handed to their amphora's grain.", nil, nil)
	heartbeatsUndelivered = prometheus.NewDesc("keel_heartbeats_undelivered_total",
		"Handled heartbeats that did not reach their amphora's grain.", nil, nil)
)

type heartbeatsCollector struct {
	read func() (HeartbeatCounts, bool)
}

func (c *heartbeatsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{heartbeatsReceived, heartbeatsAccepted, heartbeatsRejected, heartbeatsHandled, heartbeatsUndelivered} {
		ch <- d
	}
}

func (c *heartbeatsCollector) Collect(ch chan<- prometheus.Metric) {
	h, ok := c.read()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(heartbeatsReceived, prometheus.CounterValue, float64(h.Received))
	ch <- prometheus.MustNewConstMetric(heartbeatsAccepted, prometheus.CounterValue, float64(h.Accepted))
	ch <- prometheus.MustNewConstMetric(heartbeatsHandled, prometheus.CounterValue, float64(h.Handled))
	ch <- prometheus.MustNewConstMetric(heartbeatsUndelivered, prometheus.CounterValue, float64(h.Undelivered))
	for reason, n := range h.Rejected {
		ch <- prometheus.MustNewConstMetric(heartbeatsRejected, prometheus.CounterValue, float64(n), reason)
	}
}

// register adds c to Registry, ignoring a second registration of the same
// metrics (tests start several servers in one process).
func register(c prometheus.Collector) {
	if err := Registry.Register(c); err != nil {
		if _, dup := err.(prometheus.AlreadyRegisteredError); !dup {
			panic(err)
		}
	}
}
