# meshscope: `make help` lists the targets.
GO        ?= go
BIN       := bin/meshscope
TOOLS_DIR := $(CURDIR)/bin/tools
FUZZTIME  ?= 30s
FUZZMINIMIZE ?= 5s
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PATH := /usr/local/go/bin:$(TOOLS_DIR):$(PATH)

.PHONY: help run build ui deps tools test race bench lint fuzz clean

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: deps build ## build everything and run a live demo mesh at http://127.0.0.1:8080
	@echo "meshscope: open http://127.0.0.1:8080 (Ctrl+C stops everything)"
	$(BIN) serve --demo --rule-files deploy/prometheus/mesh-alerts.yaml --log-rule-files deploy/loki/log-alerts.yaml

build: ui ## build bin/meshscope with the UI embedded
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/meshscope

ui: ## build the browser UI into ui/dist (needs Node.js and npm)
	cd ui/web && npm ci --no-audit --no-fund --loglevel=error && npm run build

deps: ## install the system packages meshscope and its tests need, when missing (Debian)
	@if ! command -v clickhouse-server >/dev/null && [ ! -x /usr/sbin/clickhouse-server ]; then \
		echo "installing clickhouse-server"; $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq clickhouse-server; fi
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium"; $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; fi
	@if ! command -v npm >/dev/null; then \
		echo "installing nodejs and npm"; $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; fi

PROMETHEUS_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/prometheus/prometheus)

tools: ## build the real programs the end-to-end tests drive (telemetrygen, prometheus, alertmanager) into bin/tools
	@mkdir -p $(TOOLS_DIR)
	@[ -x $(TOOLS_DIR)/telemetrygen ] || { echo "building telemetrygen"; GOBIN=$(TOOLS_DIR) $(GO) install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0; }
	@[ -x $(TOOLS_DIR)/prometheus ] || { echo "building prometheus $(PROMETHEUS_VERSION)"; GOBIN=$(TOOLS_DIR) $(GO) install -tags remove_all_sd github.com/prometheus/prometheus/cmd/prometheus@$(PROMETHEUS_VERSION); }
	@[ -x $(TOOLS_DIR)/alertmanager ] || { echo "building alertmanager"; GOBIN=$(TOOLS_DIR) $(GO) install github.com/prometheus/alertmanager/cmd/alertmanager@v0.27.0; }

test: deps ui tools ## run every test (real ClickHouse, gRPC, HTTP and Chromium)
	$(GO) vet ./...
	MESHSCOPE_REQUIRE_BROWSER=1 MESHSCOPE_TOOLS_DIR=$(TOOLS_DIR) $(GO) test -count=1 -timeout 20m ./...

bench: deps ui tools ## run the benchmarks (figures go to BENCHMARKS.md)
	MESHSCOPE_TOOLS_DIR=$(TOOLS_DIR) $(GO) test -count=1 -run '^$$' -bench . -benchmem -timeout 60m ./...

race: deps ## the library packages' tests under the race detector (slower; not part of make test)
	$(GO) test -race -count=1 -timeout 20m ./graph/... ./ingest/... ./query/... ./slo/... ./schema/...

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Every input that finds new code is minimized before fuzzing goes on (up to
# 60 s each by Go's default, with no executions counted meanwhile: most of a
# short run); FUZZMINIMIZE bounds it. A target fails only when it wrote a
# failing input: Go 1.26's fuzzing coordinator can end a run with "context
# deadline exceeded" and nothing found (go.dev/issue/75804, fixed in Go 1.27).
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; \
			before=$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l); \
			if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; then \
				after=$$(ls $$dir/testdata/fuzz/$$f 2>/dev/null | wc -l); \
				if [ "$$after" != "$$before" ]; then exit 1; fi; \
				echo "$$f: the run failed without a failing input (go.dev/issue/75804); going on"; \
			fi; \
		done; \
	done

clean: ## remove build output and the local data dir
	rm -rf bin ui/dist/assets ui/dist/index.html data
