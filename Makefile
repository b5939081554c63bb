# p2pcache — make help lists the targets.
SHELL := /bin/bash
GO ?= go
# Fuzz budget per target. A count, not a duration: a duration's deadline
# races Go 1.26's fuzz coordinator and fails with "context deadline
# exceeded" and no crasher (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 60000x
# The bench harness's flags; see go run ./bench -h.
BENCH_ARGS ?= --quick --warmup 1s --json bench/out/quick.json --html bench/out/quick.html
# The browser bench's flags; see client-js/bench/browser.mjs (--files DIR for a real corpus).
BENCH_BROWSER_ARGS ?=
# Fuzz targets, as package:Target.
FUZZ_TARGETS := ./relay/wire:FuzzDecodeFrame ./relay:FuzzReadsLargeRecords ./relay/wire:FuzzParseSignal ./relay/wire:FuzzParseManifest ./relay/wire:FuzzCleanPath ./cache:FuzzHTTPOriginURL ./cache:FuzzUsableMemory ./server/internal/config:FuzzParseSize ./server/internal/config:FuzzConfigFile ./server/portmux:FuzzClassify ./server/edge:FuzzForwardedHeaders ./relay/mesh:FuzzDecodeRequest ./relay/mesh:FuzzDecodeReply ./relay/mesh:FuzzDecodeAnnouncement ./relay/mesh:FuzzDecodeManifestAnswer ./server/internal/config:FuzzMeshID ./server/edge:FuzzPreferredEncoding

.DEFAULT_GOAL := help
.PHONY: help run build test test-go test-js test-browser fuzz bench bench-browser bench-micro lint clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-13s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the relay: http://127.0.0.1:8080, ICE-TCP on 127.0.0.1:7881, built-in demo origin (ARGS="--origin DIR" to change)
	$(GO) run ./server $(ARGS)

# What `p2pcache --version` prints for make build (the Dockerfile stamps the
# same two variables the same way).
VERSION = $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT = $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

build: ## build the relay binary into bin/p2pcache (no testing-only flags), stamped with VERSION and COMMIT
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o bin/p2pcache ./server

test: lint test-go test-js test-browser ## everything: vet, gofmt, Go tests with -race, JS unit tests, Chromium end-to-end tests

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go: ## Go tests with the race detector
	$(GO) test -race -count=1 ./...

test-js: ## the SDK's unit tests (node --test)
	cd client-js && node --test test/

# The end-to-end tests need the relay's testing-only flags
# (--fault-corrupt-chunk): they run bin/p2pcache-e2e, built with the
# p2pcache_faults tag. bin/p2pcache never has them.
test-browser: ## end-to-end tests in headless Chromium and Firefox against bin/p2pcache-e2e (needs /usr/bin/chromium; runs npm ci in client-js when its packages are missing)
	$(GO) build -tags p2pcache_faults -o bin/p2pcache-e2e ./server
	@if [ ! -d client-js/node_modules/playwright-core ] || [ ! -d client-js/node_modules/puppeteer-core ]; then \
	  if command -v npm >/dev/null; then echo "test-browser: client-js/node_modules incomplete: npm ci"; (cd client-js && npm ci --no-audit --no-fund) || exit 1; \
	  elif [ -n "$$CI" ]; then echo "test-browser: npm missing (CI must install it: apt-get install -y npm)"; exit 1; \
	  else echo "test-browser: SKIPPED — npm missing for client-js/node_modules (apt-get install -y npm)"; exit 0; fi; \
	fi; \
	if [ ! -x /usr/bin/chromium ]; then \
	  if [ -n "$$CI" ]; then echo "test-browser: Chromium missing (CI must install it: see .ci/run)"; exit 1; fi; \
	  echo "test-browser: SKIPPED — Chromium missing (apt-get install -y chromium)"; exit 0; \
	fi; \
	if [ ! -x /usr/bin/firefox-esr ]; then \
	  if [ -n "$$CI" ]; then echo "test-browser: Firefox ESR missing (CI must install it: apt-get install -y firefox-esr)"; exit 1; fi; \
	  echo "test-browser: Firefox ESR missing: the Firefox half of the tests is skipped (apt-get install -y firefox-esr)"; \
	fi; \
	if [ -d client-js/e2e ]; then cd client-js && P2PCACHE_BIN=$(CURDIR)/bin/p2pcache-e2e node --test --test-concurrency=1 e2e/; \
	else echo "test-browser: no client-js/e2e tests yet"; fi

fuzz: ## run every fuzz target for FUZZTIME each (default 60000x, ~10 s; a count avoids golang/go#75804)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

bench: ## the bench harness: relay over WebRTC vs HTTP(S) side by side, report in bench/out/ (BENCH_ARGS="--peers 1,10,100" for more)
	$(GO) run ./bench $(BENCH_ARGS)

bench-browser: build ## headless Chromium and Firefox tabs (1 and 4) fetch a workload over the SDK (WebRTC) vs plain HTTP(S) /files, report in bench/out/browser.{txt,json} (needs root for a netns; BENCH_BROWSER_ARGS="--files DIR --tabs 1,4")
	cd client-js && P2PCACHE_BIN=$(CURDIR)/bin/p2pcache node bench/browser.mjs $(BENCH_BROWSER_ARGS)

bench-micro: ## micro-benchmarks (cache, relay frame codec and writes, fetch over WebRTC vs HTTP)
	$(GO) test -run='^$$' -bench=. -benchmem ./cache/ ./relay/ ./relay/wire/ ./server/edge/

clean: ## remove build and test output
	rm -rf bin test-output

.PHONY: generate check-generate

generate: ## rebuild client-js/p2pcache.js and p2pcache-sw.js from client-js/src/ (esbuild as a Go tool; no npm)
	$(GO) generate ./client-js

BUNDLES := client-js/p2pcache.js client-js/p2pcache-sw.js

check-generate: generate ## fail if the committed bundles (p2pcache.js, p2pcache-sw.js) are not what client-js/src/ builds
	@git diff --quiet --exit-code -- $(BUNDLES) || { \
	  git --no-pager diff --stat -- $(BUNDLES); \
	  echo "check-generate: a bundle is out of date with client-js/src/: run 'make generate' and commit the result"; \
	  exit 1; }
