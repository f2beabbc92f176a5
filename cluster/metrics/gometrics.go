package metrics

import (
	"sync"

	gometrics "github.com/hashicorp/go-metrics"
	gometricsprom "github.com/hashicorp/go-metrics/prometheus"
)

var bridgeOnce sync.Once

// BridgeGoMetrics routes what hashicorp/raft (v1.8 emits through
// hashicorp/go-metrics: commit and apply times, batch sizes, leader changes,
// last contact, replication) and memberlist emit into Registry, named
// keel_raft_* and keel_memberlist_*: the libraries measure, keel only exports.
// Series never expire (a dashboard's idle leader keeps its last values). Once
// per process; the first call wins.
func BridgeGoMetrics() error {
	var err error
	bridgeOnce.Do(func() {
		var sink *gometricsprom.PrometheusSink
		sink, err = gometricsprom.NewPrometheusSinkFrom(gometricsprom.PrometheusOpts{
			Registerer: Registry, Name: "keel_gometrics_bridge", Expiration: 0})
		if err != nil {
			return
		}
		cfg := gometrics.DefaultConfig("keel")
		cfg.EnableHostname = false
		cfg.EnableHostnameLabel = false
		cfg.EnableRuntimeMetrics = false // the Go collector exports these
		cfg.EnableServiceLabel = false
		_, err = gometrics.NewGlobal(cfg, sink)
	})
	return err
}
