"""The generated dashboard: the SDK's schema, and the dashboard-linter rules (mixin/lint.py), each
shown to complain about a copy broken the way the rule is about."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from mixin import dashboard, lint
from mixin.generate import DASHBOARD_FILE
from mixin.sdk_schema import dashboard_schema


@pytest.fixture(scope="module")
def dash() -> dict:
    return json.loads(DASHBOARD_FILE.read_text())


def _panel(d: dict, title: str) -> dict:
    return next(p for p in d["panels"] if p.get("title") == title)


def _var(d: dict, name: str) -> dict:
    return next(v for v in d["templating"]["list"] if v["name"] == name)


def _target(d: dict, title: str, ref: str = "A") -> dict:
    return next(t for t in _panel(d, title)["targets"] if t["refId"] == ref)


def _set(path_fn, value):
    def mutate(d):
        obj, key = path_fn(d)
        obj[key] = value
    return mutate


# rule -> a way to break the dashboard that the rule must catch
BREAKS = {
    "template-datasource-rule": _set(lambda d: (_var(d, "datasource"), "label"), "datasource"),
    "template-job-rule": _set(lambda d: (_var(d, "job"), "allValue"), ""),
    "template-on-time-change-reload-rule": _set(lambda d: (_var(d, "namespace"), "refresh"), 1),
    "template-label-promql-rule": _set(lambda d: (_var(d, "job"), "query"),
                                       'label_values(metrics_app_build_info{namespace=~"$namespace", job)'),
    "panel-datasource-rule": _set(lambda d: (_panel(d, "CPU per pod")["datasource"], "uid"), "prometheus-uid"),
    "panel-title-description-rule": _set(lambda d: (_panel(d, "Targets up"), "description"), ""),
    "panel-units-rule": _set(lambda d: (_panel(d, "Error ratio (5xx / all)")["fieldConfig"]["defaults"], "unit"),
                             "percentage"),
    "panel-no-targets-rule": _set(lambda d: (_panel(d, "up per pod"), "targets"), []),
    "target-promql-rule": _set(lambda d: (_target(d, "Requests in flight"), "expr"),
                               'sum by (pod) (http_requests_in_flight{job=~"$job"}'),
    "target-rate-interval-rule": _set(lambda d: (_target(d, "CPU per pod"), "expr"),
                                      'rate(process_cpu_seconds_total{job=~"$job"}[5m])'),
    "target-job-rule": _set(lambda d: (_target(d, "Resident memory per pod"), "expr"),
                            'process_resident_memory_bytes{namespace=~"$namespace"}'),
    "target-counter-agg-rule": _set(lambda d: (_target(d, "Request rate by status class"), "expr"),
                                    'sum by (status) (http_requests_total{job=~"$job"})'),
}


def test_every_rule_has_a_break():
    assert set(BREAKS) == set(lint.RULES)


@pytest.mark.parametrize("rule", sorted(lint.RULES))
def test_lint_rule(dash, rule):
    check = lint.RULES[rule]
    assert check(dash) == [], f"{rule}: {check(dash)}"
    broken = copy.deepcopy(dash)
    BREAKS[rule](broken)
    assert check(broken), f"{rule} does not notice the broken copy"


def test_adapter_panel_is_the_adapter_rule(dash):
    """The HPA-metric panel runs the adapter's metricsQuery (read from rules-configmap.yaml), so a
    change of the rule shows in the dashboard."""
    assert _target(dash, "HPA metric per pod (what the HPA sees)")["expr"] == \
        'sum(rate(http_requests_total{namespace=~"$namespace",job=~"$job"}[2m])) by (pod)'


def test_schema(dash):
    validator = jsonschema.Draft7Validator(dashboard_schema())
    errors = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(dash)]
    assert errors == []
    broken = copy.deepcopy(dash)
    broken["panels"][1]["gridPos"]["w"] = "eight"
    broken["refreshh"] = "30s"
    del broken["schemaVersion"]
    assert len(list(validator.iter_errors(broken))) == 3


def test_layout(dash):
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert rows == ["RED: rate, errors, duration", "Autoscaling", "Pods"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(set(ids)) == len(ids)
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in dash["panels"])
    assert [v["name"] for v in dash["templating"]["list"]] == ["datasource", "namespace", "job", "hpa"]
    assert dash["uid"] == dashboard.UID and dash["title"] == "metrics-app"
