# MetricsKit: `make test` installs what the tests need (promtool, a Python venv with
# prometheus-client) when it is missing, then runs the test suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_GET := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: help build test deps deps-apt deps-python bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## Build the package (debug)
	swift build

test: deps ## Install missing test tools, then run every test (unit, concurrency, conformance)
	swift test

deps: deps-apt deps-python ## Install the test tools when missing

# Debian's prometheus package brings promtool, the independent 0.0.4 checker.
deps-apt:
	@if ! command -v promtool >/dev/null 2>&1; then \
		echo "installing Debian's prometheus package (for promtool)"; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq --no-install-recommends prometheus; \
	fi
	@command -v promtool >/dev/null || { echo "promtool is still missing: apt-get install prometheus" >&2; exit 1; }

# prometheus-client's parsers, the independent Python checkers.
deps-python: $(VENV)/.installed

$(VENV)/.installed:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check prometheus-client
	touch $@

bench: ## Benchmarks against swift-prometheus, printed as one table with ratios
	Benchmarks/run.sh

clean: ## Remove build products
	rm -rf .build Benchmarks/.build
