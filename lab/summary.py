"""summary.json from the timeline: how fast, how far, how stable, how it came back down."""
from __future__ import annotations

# The columns first, in its order; then the phase and the pod counts.
COLUMNS = ["t_seconds", "offered_rps", "current_replicas", "ready_replicas", "pods_with_metrics",
           "recommendation", "desired_replicas", "metric", "metric_value", "metric_target", "p95_seconds",
           "sent", "failed", "reason", "phase", "live_pods", "terminating_pods", "in_flight",
           "able_to_scale", "scaling_active", "scaling_limited",  # the HPA's conditions: status/reason
           "restarts",  # container restarts over the pods not yet gone (restartCount)
           "all_metrics"]  # JSON: [[name, value, target, replicas it proposed], ...] for every metric


def scale_events(rows: list[dict]) -> list[dict]:
    return [{"t_seconds": r["t_seconds"], "from": r["current_replicas"], "to": r["desired_replicas"]}
            for r in rows if r["desired_replicas"] != r["current_replicas"]]


def summarize(rows: list[dict], scenario, manifests, speed: float, counts: dict, max_live: int,
              exit_codes: dict, phase_starts: list[dict]) -> dict:
    spec = manifests.hpa["spec"]
    lo, hi = spec["minReplicas"], spec["maxReplicas"]
    events = scale_events(rows)
    loaded = [p for p in phase_starts if p["rps"] > 0]
    load_start = loaded[0]["t_seconds"] if loaded else None
    drop = None
    if loaded:
        last = phase_starts.index(loaded[-1])
        drop = phase_starts[last + 1]["t_seconds"] if last + 1 < len(phase_starts) else None

    def since(t, ref):
        return None if t is None or ref is None else round(t - ref, 1)

    first_up = next((e["t_seconds"] for e in events if e["to"] > e["from"]), None)
    steady = time_to_steady = overshoot = None
    if loaded:
        peak_phase = max(loaded, key=lambda p: p["rps"])
        end = next((p["t_seconds"] for p in phase_starts if p["t_seconds"] > peak_phase["t_seconds"]), float("inf"))
        in_phase = [r for r in rows if peak_phase["t_seconds"] <= r["t_seconds"] < end]
        if in_phase:
            steady = in_phase[-1]["ready_replicas"]
            overshoot = max(r["current_replicas"] for r in in_phase) - steady
            t_steady = None
            for r in in_phase:
                ok = r["ready_replicas"] == steady and r["current_replicas"] == steady
                if ok and t_steady is None:
                    t_steady = r["t_seconds"]
                elif not ok:
                    t_steady = None
            time_to_steady = since(t_steady, peak_phase["t_seconds"])
    per_phase = []
    for i, p in enumerate(phase_starts):
        end = phase_starts[i + 1]["t_seconds"] if i + 1 < len(phase_starts) else float("inf")
        in_phase = [r for r in rows if p["t_seconds"] <= r["t_seconds"] < end]
        first = next((e for e in events if p["t_seconds"] <= e["t_seconds"] < end), None)
        per_phase.append({
            "name": p["name"], "rps": p["rps"], "start_seconds": p["t_seconds"],
            "ready_replicas_at_end": in_phase[-1]["ready_replicas"] if in_phase else None,
            "max_replicas": max((r["current_replicas"] for r in in_phase), default=None),
            "first_scale_event_after_seconds": since(first["t_seconds"] if first else None, p["t_seconds"]),
        })
    directions = [1 if e["to"] > e["from"] else -1 for e in events]
    changes = sum(1 for a, b in zip(directions, directions[1:]) if a != b)
    first_down = back_to_min = None
    if drop is not None:
        first_down = next((e["t_seconds"] for e in events if e["t_seconds"] >= drop and e["to"] < e["from"]), None)
        back_to_min = next((r["t_seconds"] for r in rows if r["t_seconds"] >= drop and r["current_replicas"] == lo
                            and r["ready_replicas"] == lo and r["terminating_pods"] == 0
                            and any(x["current_replicas"] > lo for x in rows)), None)
    peak = max([r["current_replicas"] for r in rows] + [r["desired_replicas"] for r in rows] + [0])
    return {
        "scenario": scenario.name,
        "hpa": manifests.source,
        "speed": speed,
        "min_replicas": lo,
        "max_replicas": hi,
        "syncs": len(rows),
        "duration_seconds": rows[-1]["t_seconds"] if rows else 0,
        "load_start_seconds": load_start,
        "load_drop_seconds": drop,
        "time_to_first_scale_up_seconds": since(first_up, load_start),  # from the first load step
        "steady_replicas": steady,  # ready at the end of the busiest phase
        "time_to_steady_seconds": time_to_steady,  # from the start of the busiest phase
        "scale_up_overshoot_replicas": overshoot,  # most replicas in the busiest phase, less steady
        "peak_replicas": peak,
        "max_live_pods": max_live,
        "never_above_max_replicas": peak <= hi and max_live <= hi,
        "scale_events": len(events),
        "direction_changes": changes,
        "load_drop_to_first_scale_down_seconds": since(first_down, drop),
        "load_drop_to_min_replicas_seconds": since(back_to_min, drop),
        "requests_sent": counts["sent"],
        "requests_failed": counts["failed"],
        "failures": counts.get("failures", {}),
        "pods_exit_codes": sorted(set(str(c) for c in exit_codes.values())),
        "phases": phase_starts,
        "per_phase": per_phase,
        "events": events,
    }
