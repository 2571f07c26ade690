"""The lab's alerting parts on their own: the mixin's rules as the lab's Prometheus loads them
(scaled by SPEED, read from the generated PrometheusRule), and the watcher of a real
Alertmanager (Debian's prometheus-alertmanager) turning what its v2 API lists into alerts.jsonl
lines and episodes."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from lab.alertmanager import BINARY, AlertLog, expectations, start_alertmanager
from lab.prometheus import Processes, duration_seconds, range_windows, require_tool
from lab.rules import PROMETHEUS_RULE, alert_names, mixin_groups, scaled_groups
from mixin.rules import ALERTS


def test_scaled_rules_are_the_mixins_divided_by_speed(tmp_path):
    real, fast = mixin_groups(), scaled_groups(6)
    assert alert_names() == list(dict.fromkeys(ALERTS))
    pairs = [(r, f) for g, h in zip(real, fast) for r, f in zip(g["rules"], h["rules"])]
    assert len(pairs) == sum(len(g["rules"]) for g in real) > 6
    for r, f in pairs:
        assert [w / 6 for w in range_windows(r["expr"])] == range_windows(f["expr"])
        if "for" in r:
            assert duration_seconds(f["for"]) == duration_seconds(r["for"]) / 6
        assert {k: v for k, v in r.items() if k not in ("expr", "for")} == \
            {k: v for k, v in f.items() if k not in ("expr", "for")}
    # and promtool takes the scaled file as it takes the shipped one
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": fast}))
    assert subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True).returncode == 0
    assert PROMETHEUS_RULE.name == "prometheusrule.yaml"


def _post(am, alerts):
    import urllib.request
    req = urllib.request.Request(f"{am.base}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def test_alert_log_records_what_alertmanager_lists(tmp_path):
    if problem := require_tool(BINARY, "apt-get install prometheus-alertmanager (make deps-alertmanager)"):
        pytest.fail(problem)
    procs = Processes()
    now = {"t": 100.0}
    try:
        am, _ = start_alertmanager(procs, tmp_path)
        log = AlertLog(am, lambda: now["t"], tmp_path)
        log.start = 40.0  # scenario seconds are clock() - start
        labels = {"alertname": "MetricsAppHpaMaxedOut", "namespace": "demo-ns", "severity": "warning"}
        t0 = datetime.now(timezone.utc)
        _post(am, [{"labels": labels, "startsAt": t0.isoformat(), "endsAt": (t0 + timedelta(hours=1)).isoformat()}])
        log.poll()
        now["t"] = 130.0
        log.poll()  # still listed: no second line
        _post(am, [{"labels": labels, "startsAt": t0.isoformat(), "endsAt": datetime.now(timezone.utc).isoformat()}])
        now["t"] = 160.0
        log.poll()
        lines = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
        assert lines == [{"t": 60.0, "alert": "MetricsAppHpaMaxedOut", "state": "firing", "labels": labels},
                         {"t": 120.0, "alert": "MetricsAppHpaMaxedOut", "state": "resolved", "labels": labels}]
        episodes = log.stop()
        assert [(e["alert"], e["fired_at"], e["resolved_at"]) for e in episodes] == [("MetricsAppHpaMaxedOut", 60.0, 120.0)]
    finally:
        procs.stop_all()
    assert expectations({"alerts_fired": ["MetricsAppHpaMaxedOut"], "no_alerts": True}, episodes) == {
        "alerts_fired": {"expected": ["MetricsAppHpaMaxedOut"], "got": ["MetricsAppHpaMaxedOut"], "met": True},
        "no_alerts": {"expected": True, "got": False, "met": False}}
    assert expectations({"alerts_fired": ["MetricsAppTargetDown"]}, episodes)["alerts_fired"]["met"] is False
    assert expectations({"no_alerts": True}, [])["no_alerts"]["met"] is True
    # An Alertmanager nobody could read lists nothing: that is not "no alert fired".
    assert expectations({"no_alerts": True}, [], watched=False)["no_alerts"]["met"] is False
