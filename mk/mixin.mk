# The monitoring mixin (mixin/): metrics-app's dashboard, recording rules and alerts, and the
# kustomize component that deploys them (deploy/components/monitoring). Included from the
# Makefile (`include mk/mixin.mk`); installs what it needs like make test: grafana-foundation-sdk
# (mixin/requirements.txt), pytest (lab/requirements.txt), kubectl, check-jsonschema and
# kubernetes-validate (scripts/ship/requirements.txt), promtool (Debian prometheus).
#   make mixin        regenerate deploy/components/monitoring/{prometheusrule.yaml,metrics-app-dashboard.json}
#                     (RUNBOOK_BASE=https://... writes absolute runbook links for your own clone;
#                     the checked-in files, and the tests, use the relative docs/runbook.md)
#   make test-mixin   freshness, promtool check/test rules, the dashboard-linter rules, the SDK
#                     schema, the component (PrometheusRule against prometheus-operator's CRD
#                     schema, and the one in SHIP_SCHEMAS once shared/schemas carries it)
RUNBOOK_BASE ?=

.PHONY: mixin test-mixin deps-mixin

deps-mixin: deps-test $(VENV)/.mixin-installed

$(VENV)/.mixin-installed: mixin/requirements.txt $(VENV)/.lab-installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r mixin/requirements.txt
	touch $@

mixin: $(VENV)/.mixin-installed ## Regenerate the monitoring mixin's files in deploy/components/monitoring
	$(SHIP_VENV_BIN)/python -m mixin.generate $(if $(RUNBOOK_BASE),--runbook-base $(RUNBOOK_BASE))

test-mixin: deps-mixin
	SHIP_SCHEMAS=$(abspath $(SHIP_SCHEMAS)) MIXIN_KUBECTL=$(SHIP_VENV_BIN)/kubectl \
		$(SHIP_VENV_BIN)/python -m pytest -q mixin/tests
