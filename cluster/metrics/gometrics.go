package metrics

import (
	"sync"

	armonmetrics "github.com/armon/go-metrics"
	armonprom "github.com/armon/go-metrics/prometheus"
	gometrics "github.com/hashicorp/go-metrics"
	gometricsprom "github.com/hashicorp/go-metrics/prometheus"
)

var bridgeOnce sync.Once

// BridgeGoMetrics routes what hashicorp/raft (v1.8 emits through
// hashicorp/go-metrics: commit and apply times, batch sizes, leader changes,
// last contact, replication) and memberlist emit into Registry, named
// keel_raft_* and keel_memberlist_*: the libraries measure, keel only exports.
// The Raft log stores, raft-wal (keel_raft_wal_*) and raft-boltdb v2
// (keel_raft_boltdb_*), still emit through go-metrics' predecessor,
// armon/go-metrics, so that global is bridged too. Series never expire (a dashboard's idle leader
// keeps its last values). Once per process; the first call wins.
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
		if _, err = gometrics.NewGlobal(cfg, sink); err != nil {
			return
		}
		var armonSink *armonprom.PrometheusSink
		armonSink, err = armonprom.NewPrometheusSinkFrom(armonprom.PrometheusOpts{
			Registerer: Registry, Name: "keel_armon_gometrics_bridge", Expiration: 0})
		if err != nil {
			return
		}
		armonCfg := armonmetrics.DefaultConfig("keel")
		armonCfg.EnableHostname = false
		armonCfg.EnableHostnameLabel = false
		armonCfg.EnableRuntimeMetrics = false
		armonCfg.EnableServiceLabel = false
		_, err = armonmetrics.NewGlobal(armonCfg, armonSink)
	})
	return err
}
