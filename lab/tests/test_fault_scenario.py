"""The all-faults scenario, compressed (SPEED=8, about 2.5 minutes of wall time): real metrics-app
pods, a real Prometheus stopped and started again, the adapter rule broken for a while, a pod
SIGKILLed twice and restarted by the lab's kubelet, a readiness probe failing. The shipped HPA
must hold its count through the metric faults as upstream's rules say, the TSDB must keep its
data, every failed request must be counted with a cause, and the outputs must mark the faults.

LAB_CHECK_RUN=<folder> checks an earlier run's outputs instead of running it again."""
from __future__ import annotations

import csv

import pytest

from lab.fault_summary import AFTER_SECONDS, METRIC_FAULTS
from lab.kubelet import PLEG_RELIST_PERIOD
from lab.load import DRAINING, NO_ENDPOINT
from lab.summary import COLUMNS
from lab.tests.scenario_run import run_scenario

SPEED = 8
CAUSES = {"connection refused", "connection reset", DRAINING, "timeout", NO_ENDPOINT}


@pytest.fixture(scope="module")
def lab_run():
    summary, _, out = run_scenario("all-faults", SPEED, "test-all-faults")
    with open(out / "timeline.csv") as f:
        rows = list(csv.DictReader(f))
    with open(out / "failures.csv") as f:
        failures = list(csv.DictReader(f))
    return summary, rows, failures, out


def _band(summary, kind):
    found = [b for b in summary["faults"] if b["type"] == kind]
    assert found and found[0]["start_seconds"] is not None, f"no {kind} band: {summary['faults']}"
    return found[0]


def test_expectations_met(lab_run):
    summary = lab_run[0]
    missed = {k: e for k, e in summary["expectations"].items() if not e["met"]}
    assert not missed, missed
    assert summary["fault_errors"] == []


def test_outputs_mark_every_fault(lab_run):
    summary, rows, _, out = lab_run
    assert [b["type"] for b in summary["faults"]] == ["prometheus_down", "adapter_empty", "pod_crash", "readiness_flap"]
    assert all(b["end_seconds"] > b["start_seconds"] for b in summary["faults"])
    assert list(rows[0]) == COLUMNS
    for name in ("chart.svg", "chart.png", "inputs.jsonl", "failures.csv"):
        assert (out / name).stat().st_size > 0, name


def test_scaling_active_false_only_while_the_metrics_fail(lab_run):
    """Upstream: a failed metrics call sets ScalingActive False and leaves the scale; the lab's
    timeline must show it inside the metric fault bands (plus the restart's own catch-up) and
    nowhere else once the first metrics arrived."""
    summary, rows, _, _ = lab_run
    bands = [b for b in summary["faults"] if b["type"] in METRIC_FAULTS]
    first_good = next(float(r["t_seconds"]) for r in rows if r["scaling_active"].startswith("True"))
    for r in rows:
        t = float(r["t_seconds"])
        inside = any(b["start_seconds"] - 0.5 <= t <= b["end_seconds"] + (b.get("metrics_back_after_seconds") or 0) + 0.5
                     for b in bands)
        if t > first_good and not inside:
            assert r["scaling_active"].startswith("True"), r
    for b in bands:
        during = [r for r in rows if b["start_seconds"] < float(r["t_seconds"]) < b["end_seconds"]]
        assert during and all(r["scaling_active"].startswith("False/FailedGetPodsMetric") for r in during), b
        assert {int(r["desired_replicas"]) for r in during} == {b["replicas_at_start"]}


def test_prometheus_came_back_with_its_data(lab_run):
    band = _band(lab_run[0], "prometheus_down")
    assert band["tsdb_kept_data"] is True
    assert band["requests_failed"] == 0  # the pods do not depend on Prometheus


def test_crashed_pod_restarted_with_the_kubelets_backoff(lab_run):
    """First restart at once, the second after 10 s: ready again ~2 s, then >= 10 s after the kill."""
    band = _band(lab_run[0], "pod_crash")
    first, second = band["ready_again_after_seconds"]
    assert first < 10 <= second < 30
    # The PLEG relist (1 s), plus half a second of wall time for threads on a busy shared machine
    # (a compressed run sees it x SPEED: one run under load measured 2.5 s).
    slack = PLEG_RELIST_PERIOD + 0.5 * SPEED
    assert all(0 < t <= slack for t in band["out_of_endpoints_after_seconds"]), band["crashes"]


def test_every_failed_request_has_a_cause_and_a_time(lab_run):
    summary, _, failures, _ = lab_run
    assert len(failures) == summary["requests_failed"]
    assert sum(summary["failed_by_cause"].values()) == summary["requests_failed"]
    assert {f["cause"] for f in failures} <= CAUSES
    # Requests fail only around the crash (the readiness flap takes the pod out of the endpoints
    # before it stops answering; the metric faults do not touch the pods).
    crash = _band(summary, "pod_crash")
    for f in failures:
        assert crash["start_seconds"] <= float(f["t_seconds"]) <= crash["end_seconds"] + AFTER_SECONDS, f


def test_metric_unavailable_alert_fires_for_the_adapter_fault_only(lab_run):
    """MetricsAppHpaMetricUnavailable (ScalingActive false for 5m) reaches the real Alertmanager
    during the 6-minute adapter fault and resolves after it; the 60 s Prometheus outage cannot
    fire it (its own Prometheus is down) and the short crash does not fire target down (5m)."""
    summary, _, _, out = lab_run
    band = _band(summary, "adapter_empty")
    fired = [a for a in summary["alerts"] if a["alert"] == "MetricsAppHpaMetricUnavailable"]
    assert len(fired) == 1, summary["alerts"]
    assert band["start_seconds"] + 300 <= fired[0]["fired_at"] <= band["end_seconds"]
    assert fired[0]["resolved_at"] is not None and fired[0]["resolved_at"] >= band["end_seconds"]
    assert "MetricsAppTargetDown" not in {a["alert"] for a in summary["alerts"]}
    lines = (out / "alerts.jsonl").read_text().splitlines()
    assert any('"MetricsAppHpaMetricUnavailable"' in line and '"firing"' in line for line in lines)
