# keel: build, run, test, bench. `make run` and `make test` are all a new user needs;
# everything else they depend on (Debian packages, protoc plugins) is installed here.

GO        ?= go
BIN       := bin
DATA_DIR  ?= ./keel-data
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
PROTOACTOR_VERSION := v0.0.0-20240822202345-3c0e61ca19c9
PROTOC_GEN_GO_VERSION := v1.36.6
TEST_TIMEOUT ?= 25m
FUZZ_TIME ?= 20s

.PHONY: all build run test deps proto vet fmt-check bench clean

all: build

deps:
	@bash .ci/deps.sh

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# A single node with embedded defaults (see docs/ARCHITECTURE.md for the flags).
run: build
	./$(BIN)/keeld -data-dir $(DATA_DIR)

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps vet fmt-check build
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -run '^$$' -fuzz '^FuzzDecoders$$' -fuzztime $(FUZZ_TIME) ./http/

# Regenerates the protobuf contracts (generated code is committed).
proto: deps
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install github.com/asynkron/protoactor-go/protobuf/protoc-gen-go-grain@$(PROTOACTOR_VERSION)
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel \
		store/storepb/octavia.proto store/storepb/store.proto cluster/clusterpb/cluster.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel \
		--go-grain_out=. --go-grain_opt=module=keel actors/actorspb/actors.proto
	PATH="$(GOBIN_DIR):$$PATH" protoc -I . -I /usr/include --go_out=. --go_opt=module=keel --go-grain_out=. --go-grain_opt=module=keel actors/catalogpb/catalog.proto

bench: deps build
	$(GO) run ./bench/cmd/keelbench -out bench/results

clean:
	rm -rf $(BIN)
