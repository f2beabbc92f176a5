# keel: build, run, test, bench. `make run` and `make test` are all a new user needs;
# everything else they depend on (Debian packages, protoc plugins) is installed here.

GO        ?= go
BIN       := bin
DATA_DIR  ?= ./keel-data
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
PROTOACTOR_VERSION := v0.0.0-20240822202345-3c0e61ca19c9
PROTOC_GEN_GO_VERSION := v1.36.6
VTPROTOBUF_VERSION := v0.6.0
TEST_TIMEOUT ?= 25m
FUZZ_TIME ?= 20s
# make chaos: every scenario of cluster/chaostest, CHAOS_RUNS times, each for
# CHAOS_DURATION; the table goes to bench/results/chaos-<time>.md (and chaos-latest.md).
CHAOS_RUNS ?= 1
CHAOS_DURATION ?= 30s
CHAOS_SCENARIOS ?= kill-leader,kill-follower,pause-leader,partition-leader,partition-oneway,restart-nojoin,mixed
CHAOS_FLAGS ?=

.PHONY: all build run test chaos tempest deps proto vet fmt-check bench bench-amphorae bench-leases bench-instances bench-profile bench-scale clean

all: build

deps:
	@bash .ci/deps.sh

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# A single node with embedded defaults (see docs/ARCHITECTURE.md for the flags), on
# loopback, where noauth requests without X-Roles are an administrator's (README).
run: deps build
	./$(BIN)/keeld -data-dir $(DATA_DIR) -noauth-admin

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps vet fmt-check build
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...
	cd store/third_party/tidwall-btree && $(GO) test -count=1 -run '^(TestBuild|TestBuilt|TestSplitKeeps)' .
	$(GO) test -run '^$$' -fuzz '^FuzzDecoders$$' -fuzztime $(FUZZ_TIME) ./http/

# The Jepsen-style suite (not part of `make test`, which runs only its short
# version): real keeld nodes under kill -9, SIGSTOP and iptables partitions (root
# needed for those), histories checked with porcupine. Leftover iptables chains of
# a killed run are removed afterwards.
chaos: deps build
	@out=$(CURDIR)/bench/results/chaos-$$(date -u +%Y%m%d-%H%M%S).md; \
	$(GO) test -tags chaos -count=1 -timeout 120m -run '^TestChaos$$' -v ./cluster/chaostest/ \
		-chaos.runs $(CHAOS_RUNS) -chaos.duration $(CHAOS_DURATION) -chaos.scenarios $(CHAOS_SCENARIOS) \
		-chaos.out $$out $(CHAOS_FLAGS); rc=$$?; \
	bash .ci/chaos-clean.sh; \
	if [ -f $$out ]; then cp $$out bench/results/chaos-latest.md; echo "results: $$out"; fi; \
	exit $$rc

# Octavia's own API test suite, octavia-tempest-plugin's tests.api.v2, against one
# keeld with a real Keystone and the noop amphora driver, as Octavia's noop gate job
# runs it (make test runs a slice). Results: bench/results/tempest-<time>.md (and
# tempest-latest.md): totals, skips by reason, failures.
TEMPEST_CONCURRENCY ?= 2
TEMPEST_REGEX ?= ^octavia_tempest_plugin\.tests\.api\.v2\.
tempest: deps build
	@out=$(CURDIR)/bench/results/tempest-$$(date -u +%Y%m%d-%H%M%S).md; \
	$(GO) test -tags tempest -count=1 -timeout 90m -run '^TestTempestSuite$$' -v ./http/tempesttest/ \
		-tempest.out $$out -tempest.concurrency $(TEMPEST_CONCURRENCY) -tempest.regex '$(TEMPEST_REGEX)'; rc=$$?; \
	if [ -f $$out ]; then cp $$out bench/results/tempest-latest.md; echo "results: $$out"; fi; \
	exit $$rc

# Regenerates the protobuf contracts (generated code is committed). The stored
# rows and Raft commands also get reflection-free (de)serialization (vtprotobuf):
# snapshots, restores and every FSM apply use it (store/snapshot.go).
proto: deps
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install github.com/asynkron/protoactor-go/protobuf/protoc-gen-go-grain@$(PROTOACTOR_VERSION)
	$(GO) install github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@$(VTPROTOBUF_VERSION)
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel \
		store/storepb/octavia.proto store/storepb/blazar.proto store/storepb/mogan.proto store/storepb/store.proto cluster/clusterpb/cluster.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go-vtproto_out=. \
		--go-vtproto_opt=module=keel,features=marshal+unmarshal+unmarshal_unsafe+size+clone+equal \
		store/storepb/octavia.proto store/storepb/blazar.proto store/storepb/mogan.proto store/storepb/store.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel \
		--go-grain_out=. --go-grain_opt=module=keel actors/actorspb/actors.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel --go-grain_out=. --go-grain_opt=module=keel actors/catalogpb/catalog.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel --go-grain_out=. --go-grain_opt=module=keel actors/leasepb/lease.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel --go-grain_out=. --go-grain_opt=module=keel actors/instancepb/instance.proto

# One node and a 3-node cluster (a few minutes): bench/results/results-<time>.md (and
# latest.md) with the table, SVG charts beside it (results-<time>-throughput.svg,
# -latency.svg, latest-*.svg) and a comparison with the previous results-*.md;
# docs/benchmarks.md explains them.
bench: deps build
	$(GO) run ./bench/cmd/keelbench -out bench/results

# Real amphorae (local driver: keel-agent and haproxy; not part of `make bench`, about
# 5 minutes): POST of a fully populated load balancer to first byte on its VIP,
# heartbeats handled per second with 1,000 simulated amphorae, failover after kill -9
# of an agent and of a haproxy. Tables: bench/results/amphorae-<time>.md (and
# amphorae-latest.md); docs/benchmarks-amphorae.md explains them.
bench-amphorae: deps build
	$(GO) run ./bench/cmd/keelbench -out bench/results -scenarios amphora-provision,heartbeats,failover

# Blazar leases (about 4 minutes): lease creates on 1 and 3 nodes, how late
# 10,000 start events due across a minute fire, and the host choice on 10,000
# hosts with 100,000 allocations. Tables: bench/results/leases-latest.md.
bench-leases: deps build
	$(GO) run ./bench/cmd/keelbench -out bench/results -scenarios leases,allocation-search

# The 3-node create path under a profiler (about a minute): the disk alone (its
# fdatasync latency and stalls, no keel running), then creates at concurrency 64
# while every node takes a CPU profile, plus allocations during the run and the
# disk timed alongside; the CPU per create of each process in
# bench/results/profile-latest.md, the profiles in bench/results/profile/ (not
# committed).
bench-profile: deps build
	$(GO) run ./bench/cmd/keelbench -out bench/results -scenarios disk,cluster-profile -duration 15s

# Mogan instances (about 2 minutes): creates until active and power actions with
# the fake driver on 1 and 3 nodes, and power request → BMC state with real
# ipmi_sim BMCs. Tables: bench/results/instances-latest.md.
bench-instances: deps build
	$(GO) run ./bench/cmd/keelbench -out bench/results -scenarios instances

# Memory and scale at 1M load balancers (about 10 minutes, mostly the preload
# through the API): RSS (total, anonymous, file-backed) and heap per load
# balancer at rest, a snapshot, and restore and restart-to-serving after kill -9.
# make bench runs the same at 100k. Table: bench/results/scale-latest.md.
SCALE_LBS ?= 1000000
bench-scale: deps build
	$(GO) run ./bench/cmd/keelbench -out bench/results -scenarios scale -scale-lbs $(SCALE_LBS)

clean:
	rm -rf $(BIN)
