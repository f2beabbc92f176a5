// Package chaostest is keel's Jepsen-style chaos suite and its test support: real
// keeld processes (cluster/systemtest) each on its own loopback address and user id,
// concurrent clients writing unique values to load balancers, listeners and members,
// a nemesis (kill -9, SIGSTOP, full and one-way iptables partitions, restarts
// without -join) and the checks that turn a run into a verdict:
//
//   - linearizability of the recorded history (porcupine, one register per object;
//     2xx = took effect, 4xx = had no effect, 5xx/timeout/reset = unknown);
//   - no acknowledged create or delete lost, on every node, after healing;
//   - no divergence: equal FSM index and equal rendered state on every node;
//   - no object stuck in PENDING_* 60 s after healing;
//   - the longest time without a successful write around each fault.
//
// The short run (short_test.go) is part of `make test`; every scenario with repeats
// runs under the build tag chaos (`make chaos`, chaos_test.go). Model and history
// live in model.go and history.go, the nemesis in nemesis.go and iptables.go, the
// workload in workload.go, the checks in check.go and the orchestration in run.go.
package chaostest
