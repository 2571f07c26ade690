"""dashboard.png: a preview of the monitoring mixin's Grafana dashboard, drawn with matplotlib from
what each panel's queries returned over the lab run (lab/dashboard.py). No Grafana runs here:
the picture says so in its title. One small plot per panel, in the dashboard's order and rows;
x in scenario seconds, y in the panel's unit; a legend from each target's legendFormat."""
from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_UNIT_LABEL = {"reqps": "req/s", "percentunit": "share (0-1)", "s": "seconds", "bytes": "bytes", "short": "",
               "bool": "1 = True"}


def _legend(fmt: str, metric: dict) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt) or \
        ",".join(f"{k}={v}" for k, v in metric.items()) or "value"


def draw(result: dict, out: Path, scenario: str, alerts: list[dict] | None = None) -> Path:
    panels = result["panels"]
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 5.2, rows * 2.9), squeeze=False)
    start, speed = result["start"], result["speed"]
    for ax, panel in zip(axes.flat, panels):
        ax.set_title(f"{panel['row'].split(':')[0]} | {panel['title']}", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.set_ylabel(_UNIT_LABEL.get(panel["unit"], panel["unit"]), fontsize=7)
        drawn = 0
        for t in panel["targets"]:
            for s in t["series"]:
                xs = [(float(ts) - start) * speed for ts, _ in s["values"]]
                ys = [float(v) for _, v in s["values"]]
                label = _legend(t["legend"], s["metric"])
                if panel["type"] == "stat":
                    ax.step(xs, ys, where="post", lw=1.2, label=f"{label}: {ys[-1]:g}" if ys else label)
                else:
                    ax.plot(xs, ys, lw=1.1, label=label)
                drawn += 1
        missing = [t["refId"] for t in panel["targets"] if not t["series"]]
        if missing:
            why = {t["may_be_empty"] for t in panel["targets"] if not t["series"] and t["may_be_empty"]}
            ax.text(0.99, 0.02, f"no data: {', '.join(missing)}" + (f" ({'; '.join(why)})" if why else ""),
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=6, color="#b00")
        for a in alerts or []:
            end = a["resolved_at"] if a["resolved_at"] is not None else ax.get_xlim()[1]
            ax.axvspan(a["fired_at"], end, color="#fdd0a2", alpha=0.35, lw=0)
        if drawn:
            ax.legend(fontsize=6, loc="upper left", ncol=2 if drawn > 4 else 1)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("scenario seconds", fontsize=7)
    fig.suptitle(f"PREVIEW, not Grafana: the metrics-app dashboard's queries over the lab run '{scenario}' "
                 f"(lab's Prometheus; shaded: alerts firing in Alertmanager)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path = out / "dashboard.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
