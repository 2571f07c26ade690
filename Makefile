# MetricsKit and metrics-app. `make run` and `make test` install what they need (Debian and
# PyPI packages) when it is missing, so they work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_GET := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
APP_ARGS ?=
# A hung test fails its run with this message instead of using up CI's 90 minutes (GNU
# timeout signals the runner's whole process group). Usual wall times: swift test 1-2 min,
# the lab's tests 5-6 min; the limit allows a machine several times as slow.
TEST_TIMEOUT ?= 1800
with_timeout = timeout -k 30 $(TEST_TIMEOUT) $(1) || { status=$$?; \
	[ $$status -lt 124 ] || echo "FAIL  '$(1)' did not finish within TEST_TIMEOUT=$(TEST_TIMEOUT) s: a test hangs (the last one started without a result)"; \
	exit $$status; }

include mk/docs.mk
include mk/ship.mk
include mk/examples.mk
include mk/lab.mk
include mk/mixin.mk

.PHONY: help build release run test deps deps-build deps-test deps-pushgateway deps-python deps-bench-http bench bench-check bench-http clean version-set

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: deps-build ## Build everything (debug)
	swift build

release: deps-build ## Build metrics-app in release mode, Swift runtime linked statically (as in the image)
	swift build -c release --static-swift-stdlib --product metrics-app

run: release ## Build and start metrics-app on 0.0.0.0:8080 (APP_ARGS="--delay-max 0" to pass flags)
	.build/release/metrics-app $(APP_ARGS)

test: deps test-ship test-mixin test-lab ## Install missing test tools, then run every test (shipping checks, the mixin, the lab)
	@$(call with_timeout,swift test)

deps: deps-build deps-test deps-python ## Install what building and testing need, when missing

# Installs Debian packages whose marker command or pkg-config module is missing.
define apt_install
	echo "installing Debian packages: $(1)"; \
	{ [ -n "$$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || $(APT_GET) update -qq; } && \
	$(APT_GET) install -y -qq --no-install-recommends $(1) || \
	{ $(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends $(1); }
endef

deps-build:
	@pkg-config --exists libmicrohttpd zlib 2>/dev/null || { $(call apt_install,libmicrohttpd-dev zlib1g-dev pkg-config); }

# promtool (Debian's prometheus package) checks the exposition format; gzip decodes bodies.
deps-test:
	@command -v promtool >/dev/null 2>&1 && command -v gzip >/dev/null 2>&1 || { $(call apt_install,prometheus gzip); }

# The Pushgateway (Debian's prometheus-pushgateway) receives the Pushgateway client's pushes in
# the tests and the batch-job example; the tests start it on a free port without persistence.
deps-test: deps-pushgateway
deps-pushgateway:
	@command -v prometheus-pushgateway >/dev/null 2>&1 || { $(call apt_install,prometheus-pushgateway); }

# prometheus-client's parsers and Google's protobuf runtime (with protoc from grpcio-tools),
# the independent Python checkers.
deps-python: $(VENV)/.installed

$(VENV)/.installed: Tests/conformance/requirements.txt
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r Tests/conformance/requirements.txt
	touch $@

deps-bench-http:
	@command -v wrk >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 || { $(call apt_install,wrk nginx-light); }

bench: ## Benchmarks against swift-prometheus, printed as one table with ratios
	Benchmarks/run.sh

bench-check: deps-build ## Regression guard: hot-path ratios against Benchmarks/thresholds.json (CI runs it)
	Benchmarks/run.sh --check

bench-http: release deps-bench-http ## wrk against metrics-app and nginx (the ceiling), one table
	scripts/bench-http.sh

version-set: ## Set the version (./VERSION, the Swift constant, the image tag): make version-set VERSION=x.y.z
	scripts/version.sh set "$(VERSION)"

clean: ## Remove build products
	rm -rf .build Benchmarks/.build Examples/*/.build
