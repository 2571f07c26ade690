"""The chart of a lab run (matplotlib): load and replicas on top, the metric against its target
below, every scale event marked on both, the phases shaded, every fault a coloured band on both
(lab/faults.py) and the syncs with ScalingActive False a red strip. chart.svg and chart.png."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


FAULT_COLORS = {"prometheus_down": "#e31a1c", "adapter_empty": "#ff7f00", "pod_crash": "#6a3d9a",
                "slow_start": "#1f78b4", "readiness_flap": "#b15928"}


def _fault_bands(axes, summary: dict) -> None:
    seen = set()
    for band in summary.get("faults", []):
        start, end = band.get("start_seconds"), band.get("end_seconds")
        if start is None or end is None:
            continue
        color = FAULT_COLORS.get(band["type"], "#999999")
        for ax in axes:
            ax.axvspan(start, max(end, start + 1), color=color, alpha=0.18, lw=0, zorder=0,
                       label=None if band["type"] in seen or ax is not axes[0] else f"fault: {band['type']}")
        seen.add(band["type"])
        for crash in band.get("crashes", []):
            axes[0].axvline(crash["killed_seconds"], color=color, lw=1.0, ls="-.")


def _num(v):
    return None if v in ("", None) else float(v)


def draw(rows: list[dict], summary: dict, out: Path) -> list[Path]:
    t = [float(r["t_seconds"]) for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    phases = summary.get("phases", [])
    for i, p in enumerate(phases):
        end = phases[i + 1]["t_seconds"] if i + 1 < len(phases) else (t[-1] if t else 0)
        if p["rps"] > 0:
            bottom.axvspan(p["t_seconds"], end, color="#f2f2f2", zorder=0)
        top.text((p["t_seconds"] + end) / 2, 1.01, f"{p['name']} ({p['rps']:g} req/s)", transform=top.get_xaxis_transform(),
                 ha="center", va="bottom", fontsize=8, color="#555")

    _fault_bands([top, bottom], summary)
    load_ax = top.twinx()
    # The offered load from the phases themselves (a step changes between two syncs).
    lt, lv = [], []
    for i, p in enumerate(phases):
        end = phases[i + 1]["t_seconds"] if i + 1 < len(phases) else (t[-1] if t else 0)
        lt += [p["t_seconds"], end]
        lv += [p["rps"], p["rps"]]
    load_ax.fill_between(lt, lv, color="#9ecae1", alpha=0.5, label="offered load (req/s)")
    load_ax.set_ylabel("offered load (req/s)", color="#3182bd")
    load_ax.tick_params(axis="y", colors="#3182bd")
    load_ax.set_ylim(bottom=0)
    top.set_zorder(load_ax.get_zorder() + 1)
    top.patch.set_visible(False)

    top.step(t, [int(r["desired_replicas"]) for r in rows], where="post", color="#e6550d", lw=1.2, ls="--",
             label="desired replicas")
    top.step(t, [int(r["current_replicas"]) for r in rows], where="post", color="#636363", lw=1.5,
             label="replicas (spec)")
    top.step(t, [int(r["ready_replicas"]) for r in rows], where="post", color="#31a354", lw=2.2, label="ready replicas")
    hi = summary.get("max_replicas")
    if hi:
        top.axhline(hi, color="#bd0026", lw=0.8, ls=":", label=f"maxReplicas {hi}")
    ups = [(float(e["t_seconds"]), e["to"]) for e in summary.get("events", []) if e["to"] > e["from"]]
    downs = [(float(e["t_seconds"]), e["to"]) for e in summary.get("events", []) if e["to"] < e["from"]]
    if ups:
        top.scatter(*zip(*ups), marker="^", color="#e6550d", zorder=5, s=40, label="scale up")
    if downs:
        top.scatter(*zip(*downs), marker="v", color="#3182bd", zorder=5, s=40, label="scale down")
    for when, _ in ups + downs:
        bottom.axvline(when, color="#bbbbbb", lw=0.6)
    # Why nothing moved: syncs held by a stabilization window, or limited by a policy.
    for key, color, label in (("stabilization window", "#fdae6b", "held by a stabilization window"),
                              ("limited by a policy", "#bcbddc", "limited by a scaling policy")):
        spans = [i for i, r in enumerate(rows) if key in r["reason"]]
        for n, i in enumerate(spans):
            end = t[i + 1] if i + 1 < len(t) else t[i]
            top.axvspan(t[i], end, ymin=0, ymax=0.04, color=color, lw=0, label=label if n == 0 else None)
    inactive = [i for i, r in enumerate(rows) if str(r.get("scaling_active", "")).startswith("False")]
    for n, i in enumerate(inactive):
        end = t[i + 1] if i + 1 < len(t) else t[i]
        top.axvspan(t[i], end, ymin=0.96, ymax=1.0, color="#e31a1c", lw=0,
                    label="ScalingActive False (metrics unavailable)" if n == 0 else None)
    top.set_ylabel("replicas")
    top.set_ylim(0, max([int(r["desired_replicas"]) for r in rows] + [hi or 1]) + 1)
    top.yaxis.get_major_locator().set_params(integer=True)
    h1, l1 = top.get_legend_handles_labels()
    h2, l2 = load_ax.get_legend_handles_labels()
    top.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=8, ncol=2)

    # One line per metric of the HPA, by its position in spec.metrics (two metrics may share a
    # name, and older runs' outputs named a metric differently when it failed); the first name
    # seen labels it.
    series: dict[int, list] = {}
    names: dict[int, str] = {}
    for i, r in enumerate(rows):
        for j, (name, value, target, _replicas) in enumerate(json.loads(r.get("all_metrics") or "[]")):
            names.setdefault(j, name)
            series.setdefault(j, [None] * len(rows))[i] = None if value is None or not target else value / target
    if len(series) > 1:  # several metrics: each against its own target
        for (j, ratios), color in zip(series.items(), ("#756bb1", "#e7298a", "#66a61e", "#a6761d")):
            name = names[j]
            bottom.plot(t, [v if v is not None else float("nan") for v in ratios], color=color, lw=1.8,
                        label=f"{name} / its target")
        bottom.axhline(1.0, color="#e6550d", lw=1.2, ls="--", label="target")
        bottom.axhspan(0.9, 1.1, color="#fdd0a2", alpha=0.5, label="tolerance (10%)")
        bottom.set_ylabel("metric / target", fontsize=8)
        return _finish(fig, top, bottom, summary, out)
    values = [_num(r["metric_value"]) for r in rows]
    targets = [_num(r["metric_target"]) for r in rows]
    metric = next((r["metric"] for r in rows if r["metric"] and r["metric_value"] not in ("", None)),
                  next((r["metric"] for r in rows if r["metric"]), "metric"))
    bottom.plot(t, [v if v is not None else float("nan") for v in values], color="#756bb1", lw=1.8,
                label=f"{metric} (as the HPA read it)")
    target = next((x for x in targets if x), None)
    if target is not None:
        bottom.axhline(target, color="#e6550d", lw=1.2, ls="--", label=f"target {target:g}")
        bottom.axhspan(target * 0.9, target * 1.1, color="#fdd0a2", alpha=0.5, label="tolerance (10%)")
    bottom.set_ylabel(metric.split(" ")[2] if metric.count(" ") >= 2 else metric, fontsize=8)
    return _finish(fig, top, bottom, summary, out)


def _alerts(top, summary: dict) -> None:
    """Each alert Alertmanager received: a band from firing to resolved (or the end), named."""
    end = top.get_xlim()[1]
    for n, a in enumerate(summary.get("alerts", [])):
        until = a["resolved_at"] if a["resolved_at"] is not None else end
        top.axvspan(a["fired_at"], until, ymin=0.9 - 0.06 * (n % 4), ymax=0.95 - 0.06 * (n % 4), color="#de2d26",
                    alpha=0.6, lw=0)
        top.text(a["fired_at"], top.get_ylim()[1] * (0.955 - 0.06 * (n % 4)), f" {a['alert']} (Alertmanager)", fontsize=7,
                 color="#a50f15", va="bottom")


def _finish(fig, top, bottom, summary: dict, out: Path) -> list[Path]:
    _alerts(top, summary)
    bottom.set_xlabel("scenario time (s)" + (f" — ran at SPEED={summary['speed']:g}" if summary.get("speed", 1) != 1 else ""))
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper right", fontsize=8)

    s = summary
    facts = [f"first scale-up {s.get('time_to_first_scale_up_seconds')}s after the load step",
             (f"steady {s.get('steady_replicas')} ready {s.get('time_to_steady_seconds')}s into the busiest step"
              if s.get("time_to_steady_seconds") is not None
              else f"{s.get('steady_replicas')} ready at the end of the busiest step, never steady"),
             f"first scale-down {s.get('load_drop_to_first_scale_down_seconds')}s after the drop",
             f"back to {s.get('min_replicas')} after {s.get('load_drop_to_min_replicas_seconds')}s",
             f"{s.get('requests_failed')} of {s.get('requests_sent')} requests failed"
             + (" (" + ", ".join(f"{n} {c}" for c, n in sorted(s["failed_by_cause"].items())) + ")"
                if s.get("failed_by_cause") else "")]
    fig.suptitle(f"lab scenario {s.get('scenario')}: HPA from {s.get('hpa')}\n" + "; ".join(facts[:3]) + "\n"
                 + "; ".join(facts[3:]), fontsize=10)
    fig.tight_layout()
    paths = [out / "chart.svg", out / "chart.png"]
    fig.savefig(paths[0])
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


if __name__ == "__main__":  # python -m lab.chart OUT: redraw a run's chart from its outputs
    import csv
    import sys

    from lab import quantity

    folder = Path(sys.argv[1])
    with open(folder / "timeline.csv") as f:
        timeline = list(csv.DictReader(f))
    if timeline and "all_metrics" not in timeline[0] and (folder / "inputs.jsonl").exists():
        # A run from before the column existed: take every metric from inputs.jsonl.
        for row, line in zip(timeline, (folder / "inputs.jsonl").read_text().splitlines()):
            ms = json.loads(line)["metrics"]
            scale = [1 if m["target_type"] == "Utilization" else 1000 for m in ms]
            row["all_metrics"] = json.dumps([
                [m["name"], None if m["value"] is None else m["value"] / k,
                 m["target"] if k == 1 else quantity.milli(m["target"]) / 1000, m["replicas"]]
                for m, k in zip(ms, scale)])
    print(*draw(timeline, json.loads((folder / "summary.json").read_text()), folder))
