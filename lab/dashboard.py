"""The monitoring mixin's dashboard over a lab run: every panel's query evaluated with
query_range on the lab's Prometheus (Grafana's variables set to the run's namespace, job and
HPA; $__rate_interval as Grafana computes it for the ServiceMonitor's scrape interval, then
divided by SPEED like every other window), written to dashboard_queries.json.

A query that fails or returns nothing is a problem named by its panel. The one exception is
said, not hidden: the native-histogram latency targets return nothing from a Prometheus that
does not store native histograms (the lab's, unless --enable-feature=native-histograms), and
the classic-bucket ones nothing from a 2.42 that does; the check asks the Prometheus which it is.
"""
from __future__ import annotations

import json
from pathlib import Path

from lab.prometheus import ROOT, Prometheus, format_duration, scale_windows
from mixin import promql

DASHBOARD = ROOT / "deploy/components/monitoring/metrics-app-dashboard.json"
NATIVE = "http_request_duration_seconds"
CLASSIC = "http_request_duration_seconds_bucket"


def rate_interval(scrape_interval: float) -> float:
    """Grafana's $__rate_interval for a data source whose scrape interval is `scrape_interval`:
    max($__interval + scrape interval, 4 x scrape interval); the lower bound, as $__interval is
    short for the lab's runs."""
    return 4 * scrape_interval


def stores_native_histograms(prom: Prometheus) -> bool:
    flags = prom._get("/api/v1/status/flags", {})
    return "native-histograms" in flags.get("enable-feature", "")


def load_dashboard(path: Path = DASHBOARD) -> dict:
    return json.loads(path.read_text())


def evaluate(prom: Prometheus, values: dict[str, str], scrape_interval: float, speed: float, start: float,
             end: float, dashboard: dict | None = None) -> dict:
    """Runs every target over [start, end] (Unix seconds, wall), step = one scrape."""
    dashboard = dashboard or load_dashboard()
    native = stores_native_histograms(prom)
    values = {**values, "__rate_interval": format_duration(rate_interval(scrape_interval))}
    step = scrape_interval / speed
    panels = []
    row = ""
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            row = panel.get("title", "")
            continue
        targets = []
        for t in panel.get("targets", []):
            expr = scale_windows(promql.interpolate(t["expr"], values), speed)
            names = {n for n, _ in promql.selectors(t["expr"])}
            entry = {"refId": t["refId"], "legend": t.get("legendFormat", ""), "expr": expr, "series": [],
                     "error": None, "may_be_empty": None}
            if NATIVE in names and not native:
                entry["may_be_empty"] = "this Prometheus stores no native histograms"
            elif CLASSIC in names and native:
                entry["may_be_empty"] = "a Prometheus 2.42 that stores native histograms keeps no classic buckets"
            try:
                entry["series"] = prom.query_range(expr, start, end, step)
            except RuntimeError as e:
                entry["error"] = str(e)
            targets.append(entry)
        panels.append({"row": row, "title": panel["title"], "type": panel["type"],
                       "unit": panel.get("fieldConfig", {}).get("defaults", {}).get("unit", ""), "targets": targets})
    return {"start": start, "end": end, "step_seconds": step, "speed": speed, "values": values,
            "native_histograms": native, "panels": panels}


def problems(result: dict) -> list[str]:
    """A line per panel target that failed or returned no sample (NaN-only counts as data: a ratio
    of idle rates is NaN, which Grafana draws as a gap)."""
    out = []
    for p in result["panels"]:
        for t in p["targets"]:
            if t["error"]:
                out.append(f"panel {p['title']!r} target {t['refId']}: query failed: {t['error']}")
            elif not t["series"] and not t["may_be_empty"]:
                out.append(f"panel {p['title']!r} target {t['refId']}: no data over the run: {t['expr']}")
    return out


def write(result: dict, out: Path) -> Path:
    path = out / "dashboard_queries.json"
    path.write_text(json.dumps(result) + "\n")
    return path
