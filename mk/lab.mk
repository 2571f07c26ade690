# The autoscaling lab (lab/): the shipped HPA scaling real metrics-app processes against a real
# Prometheus on this machine. Included from the Makefile (`include mk/lab.mk`). Installs what it
# needs like make test: Prometheus and Alertmanager (Debian), kubectl + PyYAML (scripts/ship/requirements.txt),
# matplotlib + pytest (lab/requirements.txt), prometheus-client (Tests/conformance/requirements.txt),
# and builds metrics-app (debug).
#   make lab                          the default scenario at full length (about 15 minutes)
#   make lab SCENARIO=spike SPEED=4   another scenario, every duration divided by 4
#   make lab HPA=my-hpa.yaml          your autoscaling/v2 HPA (or KEDA ScaledObject) instead
SCENARIO ?= default
SPEED ?= 1
LAB_OUT ?= .build-lab/$(SCENARIO)
HPA ?=

.PHONY: lab test-lab deps-lab deps-alertmanager

deps-lab: deps-ship-apt deps-alertmanager $(VENV)/.lab-installed

# The lab's Prometheus sends the monitoring mixin's alerts to a real Alertmanager.
deps-alertmanager:
	@command -v prometheus-alertmanager >/dev/null 2>&1 || { $(call ship_apt_install,prometheus-alertmanager); }
	@$(call ship_need,prometheus-alertmanager,apt-get install prometheus-alertmanager)

$(VENV)/.lab-installed: lab/requirements.txt $(VENV)/.ship-installed $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r lab/requirements.txt
	touch $@

lab: deps-lab ship-app ## Autoscaling lab: SCENARIO=default|cpu|latency|keda|kong|spike|prometheus-outage|crash|slow-start|all-faults SPEED=1 LAB_OUT= HPA=
	$(SHIP_VENV_BIN)/python -m lab --scenario $(SCENARIO) --speed $(SPEED) --out $(LAB_OUT) \
		--app $(E2E_APP) --kubectl $(SHIP_VENV_BIN)/kubectl $(if $(HPA),--hpa $(HPA))

# The controller against upstream's test tables (and its rules under faults), the lab's parts,
# the default scenario compressed (SPEED=6, about 3 minutes) and the all-faults scenario
# (SPEED=8, about 2.5 minutes) with their assertions.
test-lab: deps-lab ship-app
	LAB_APP=$(E2E_APP) LAB_KUBECTL=$(SHIP_VENV_BIN)/kubectl $(call with_timeout,$(SHIP_VENV_BIN)/python -m pytest -q lab/tests)
