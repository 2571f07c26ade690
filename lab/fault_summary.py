"""What each fault of a run did, from its band (lab/faults.py), the timeline and the failed
requests: what the HPA did during it, what users saw (failed requests by cause, latency), and how
long it took to recover. Also the expectation check every scenario's `expect:` goes through."""
from __future__ import annotations

from collections import Counter

# Failures this long after a band's end still count as the fault's (a crash's last refused
# connections, a drain's last 503s).
AFTER_SECONDS = 5.0
METRIC_FAULTS = ("prometheus_down", "adapter_empty")
RECOVERY_WATCH_SECONDS = 180.0  # after a metric fault: how long to watch the recommendations


def condition_text(conditions: dict, kind: str) -> str:
    """`True/ValidMetricFound` for a timeline cell; empty when the condition is not set."""
    c = conditions.get(kind)
    return f"{c[0]}/{c[1]}" if c else ""


def _num(v) -> float | None:
    return None if v in ("", None) else float(v)


def _band_report(band: dict, rows: list[dict], failures: list[tuple[float, str, str]]) -> dict:
    start, end = band.get("start_seconds"), band.get("end_seconds")
    if start is None or end is None:
        return dict(band)
    before = [r for r in rows if float(r["t_seconds"]) <= start]
    during = [r for r in rows if start <= float(r["t_seconds"]) <= end]
    after = [r for r in rows if float(r["t_seconds"]) > end]
    at_start = before[-1]["current_replicas"] if before else None
    in_window = [(t, c, p) for t, c, p in failures if start <= t <= end + AFTER_SECONDS]
    p95 = [x for x in (_num(r["p95_seconds"]) for r in during) if x is not None]
    report = dict(band)
    report.update({
        "duration_seconds": round(end - start, 1),
        "replicas_at_start": at_start,
        "replicas_min": min((r["current_replicas"] for r in during), default=None),
        "replicas_max": max((r["current_replicas"] for r in during), default=None),
        "desired_seen": sorted({r["desired_replicas"] for r in during}),
        "scaling_active_false_syncs": sum(1 for r in during if r["scaling_active"].startswith("False")),
        "conditions_seen": sorted({f"ScalingActive={r['scaling_active']}" for r in during}
                                  | {f"AbleToScale={r['able_to_scale']}" for r in during}),
        "requests_failed": len(in_window),
        "failed_by_cause": dict(Counter(c for _, c, _ in in_window)),
        "first_failure_seconds": in_window[0][0] if in_window else None,
        "last_failure_seconds": in_window[-1][0] if in_window else None,
        "p95_seconds_max": max(p95) if p95 else None,
    })
    if band["type"] in METRIC_FAULTS:
        back = next((float(r["t_seconds"]) for r in after if r["scaling_active"].startswith("True")), None)
        report["held_replicas"] = report["replicas_min"] == at_start if at_start is not None else None
        report["metrics_back_after_seconds"] = None if back is None else round(back - end, 1)
        # A rate window that covers the gap sees too few samples: the first values after the
        # fault can be low, and only the scale-down stabilization window keeps the count.
        load = during[-1]["offered_rps"] if during else None  # the same load only: not a cool-down's
        soon = [r["recommendation"] for r in after
                if float(r["t_seconds"]) <= end + RECOVERY_WATCH_SECONDS and r["recommendation"] >= 0
                and r["offered_rps"] == load]
        report["lowest_recommendation_after"] = min(soon) if soon else None
    if band["type"] == "pod_crash" and band.get("crashes") and "crash_loop_end_seconds" not in band:
        report["ready_again_after_seconds"] = [c.get("ready_again_after_seconds") for c in band["crashes"]]
        report["out_of_endpoints_after_seconds"] = [c.get("out_of_endpoints_after_seconds") for c in band["crashes"]]
    if band.get("crashes") and "crash_loop_end_seconds" in band:
        kills = [c["killed_seconds"] for c in band["crashes"]]
        report["restart_delays_seconds"] = [round(b - a, 1) for a, b in zip(kills, kills[1:])]
    return report


def fault_reports(bands: list[dict], rows: list[dict], failures: list[tuple[float, str, str]]) -> dict:
    """summary.json's fault keys: one report per fault and the facts scenarios expect."""
    reports = [_band_report(b, rows, failures) for b in sorted(bands, key=lambda b: b["index"])]
    metric = [r for r in reports if r["type"] in METRIC_FAULTS and r.get("start_seconds") is not None]
    crashes = [r for r in reports if r["type"] == "pod_crash"]
    outside = [x for x in (_num(r["p95_seconds"]) for r in rows
                           if not any(b.get("start_seconds") is not None and
                                      b["start_seconds"] <= float(r["t_seconds"]) <= b["end_seconds"] + AFTER_SECONDS
                                      for b in reports))
               if x is not None]
    out = {
        "faults": reports,
        "failed_by_cause": dict(Counter(c for _, c, _ in failures)),
        "p95_seconds_outside_faults_max": max(outside) if outside else None,
        "fault_errors": [r["error"] for r in reports if r.get("error")],
    }
    if metric:
        out["held_replicas_during_metric_faults"] = all(r.get("held_replicas") for r in metric)
        out["scaling_active_false_during_metric_faults"] = all(r["scaling_active_false_syncs"] > 0 for r in metric)
        backs = [r.get("metrics_back_after_seconds") for r in metric]
        out["metrics_back_after_seconds_max"] = None if None in backs else max(backs)
    if any(r["type"] == "prometheus_down" for r in reports):
        out["tsdb_kept_data"] = all(r.get("tsdb_kept_data") for r in reports if r["type"] == "prometheus_down")
    if crashes:
        restarts: dict[str, int] = {}  # per pod: two crash faults may hit the same one
        for r in crashes:
            restarts[r.get("pod", "")] = max(restarts.get(r.get("pod", ""), 0), r.get("restart_count", 0))
        out["crash_restart_count"] = sum(restarts.values())
        out["crash_requests_failed"] = sum(r.get("requests_failed", 0) for r in crashes)
        out["crash_pod_ready_again"] = all(r.get("ready_at_end") for r in crashes)
    return out


def met(want, got) -> bool:
    """An expectation: equal, or within {min:, max:}."""
    if isinstance(want, dict) and set(want) <= {"min", "max"} and want:
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return False
        return want.get("min", got) <= got <= want.get("max", got)
    return got == want
