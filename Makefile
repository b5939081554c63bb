# p2pcache — make help lists the targets.
SHELL := /bin/bash
GO ?= go
# Fuzz budget per target. A count, not a duration: a duration's deadline
# races Go 1.26's fuzz coordinator and fails with "context deadline
# exceeded" and no crasher (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 60000x
# The bench harness's flags; see go run ./bench -h.
BENCH_ARGS ?= --quick --json bench/out/quick.json --html bench/out/quick.html
# Fuzz targets, as package:Target.
FUZZ_TARGETS := ./relay/wire:FuzzDecodeFrame ./relay/wire:FuzzParseSignal ./relay/wire:FuzzParseManifest ./relay/wire:FuzzCleanPath ./cache:FuzzHTTPOriginURL ./server:FuzzParseSize

.DEFAULT_GOAL := help
.PHONY: help run build test test-go test-js test-browser fuzz bench bench-micro lint clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-13s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the relay: http://127.0.0.1:8080, ICE-TCP on 127.0.0.1:7881, built-in demo origin (ARGS="--origin DIR" to change)
	$(GO) run ./server $(ARGS)

build: ## build the relay binary into bin/p2pcache
	$(GO) build -o bin/p2pcache ./server

test: lint test-go test-js test-browser ## everything: vet, gofmt, Go tests with -race, JS unit tests, Chromium end-to-end tests

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go: ## Go tests with the race detector
	$(GO) test -race -count=1 ./...

test-js: ## the SDK's unit tests (node --test)
	cd client-js && node --test test/

test-browser: build ## end-to-end tests in headless Chromium (needs /usr/bin/chromium and npm packages in client-js)
	@if [ ! -x /usr/bin/chromium ] || [ ! -d client-js/node_modules/playwright-core ]; then \
	  if [ -n "$$CI" ]; then echo "test-browser: Chromium or playwright-core missing (CI must install them: see .ci/run)"; exit 1; fi; \
	  echo "test-browser: SKIPPED — install Chromium (apt-get install -y chromium) and run 'cd client-js && npm ci'"; exit 0; \
	fi; \
	if [ -d client-js/e2e ]; then cd client-js && P2PCACHE_BIN=$(CURDIR)/bin/p2pcache node --test --test-concurrency=1 e2e/; \
	else echo "test-browser: no client-js/e2e tests yet"; fi

fuzz: ## run every fuzz target for FUZZTIME each (default 60000x, ~10 s; a count avoids golang/go#75804)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

bench: ## the bench harness: relay over WebRTC vs HTTP(S) side by side, report in bench/out/ (BENCH_ARGS="--peers 1,10,100" for more)
	$(GO) run ./bench $(BENCH_ARGS)

bench-micro: ## micro-benchmarks (cache, relay frame codec and writes, fetch over WebRTC vs HTTP)
	$(GO) test -run='^$$' -bench=. -benchmem ./cache/ ./relay/ ./server/

clean: ## remove build and test output
	rm -rf bin test-output

.PHONY: generate check-generate

generate: ## rebuild client-js/p2pcache.js from client-js/src/ (esbuild as a Go tool; no npm)
	$(GO) generate ./client-js

check-generate: generate ## fail if the committed client-js/p2pcache.js is not what client-js/src/ builds
	@git diff --quiet --exit-code -- client-js/p2pcache.js || { \
	  git --no-pager diff --stat -- client-js/p2pcache.js; \
	  echo "check-generate: client-js/p2pcache.js is out of date with client-js/src/: run 'make generate' and commit the result"; \
	  exit 1; }
