#!/usr/bin/env python3
"""Fails when a hot-path ratio against its peer is worse than the threshold in thresholds.json.

Usage: bench_check.py THRESHOLDS.json RESULTS.jmh.json...
       bench_check.py THRESHOLDS.json --filters     (prints the --filter regexes to run)

Each check in THRESHOLDS.json compares one benchmark ("<workload>/<library>") against a peer
measured in the same run (swift-prometheus, or a bare atomic) as a ratio of per-operation times,
never as absolute times: the machines that run it are shared and noisy. Both sides use the same
statistic of their samples (the "statistic" of the file: "min", the fastest sample, which noise
can only make slower; or "p<N>"). A check fails when the ratio is above its "max_ratio".
Given several runs (run.sh --check runs again after a failure), a check takes its best run:
a load burst on a shared machine slows one run's window, a slower build slows every run.
Standard library only. Exit status 1 when a check fails or a benchmark is missing.
"""

import json
import sys

from comparison_table import OPS, WALL_CLOCK, jmh_benchmarks, print_table


def load_samples(path):
    """{"<workload>/<library>": sorted per-operation wall-clock samples in ns}"""
    samples = {}
    for name, element in jmh_benchmarks(path):
        workload = name.partition("/")[0]
        wall = element.get("secondaryMetrics", {}).get(WALL_CLOCK)
        if wall is None:
            continue
        scale = {"ns": 1, "μs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}[wall["scoreUnit"]]
        raw = [value for run in wall["rawData"] for value in run]
        samples[name] = sorted(value * scale / OPS[workload] for value in raw)
    return samples


def statistic(values, name):
    if name == "min":
        return values[0]
    if name.startswith("p"):
        return values[min(len(values) - 1, int(float(name[1:]) / 100 * len(values)))]
    raise SystemExit(f"unknown statistic {name!r} (use min or p<N>)")


def filters(config):
    """One anchored regex per benchmark the checks read."""
    names = sorted({name for check in config["checks"] for name in (check["ours"], check["peer"])})
    return [f"^{name}$" for name in names]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    if sys.argv[2] == "--filters":
        print("\n".join(filters(config)))
        return
    runs = [load_samples(path) for path in sys.argv[2:]]
    stat = config.get("statistic", "min")
    rows, failed = [], 0
    for check in config["checks"]:
        limit = check["max_ratio"]
        # (ratio, ours, peer) of each run that has both sides.
        measured = [(statistic(run[check["ours"]], stat) / statistic(run[check["peer"]], stat),
                     statistic(run[check["ours"]], stat), statistic(run[check["peer"]], stat))
                    for run in runs if run.get(check["ours"]) and run.get(check["peer"])]
        label = f"{check['ours']} vs {check['peer']}"
        if not measured:
            failed += 1
            rows.append([label, "missing", "missing", "n/a", "", f"<= {limit:.3f}", "FAIL (no result)"])
            continue
        ratio, ours, peer = min(measured)
        ok = ratio <= limit
        failed += not ok
        rows.append([label, f"{ours:,.2f}", f"{peer:,.2f}", f"{ratio:.3f}", " ".join(f"{r:.3f}" for r, _, _ in measured),
                     f"<= {limit:.3f}", "ok" if ok else f"FAIL ({ratio / limit - 1:+.0%} past the threshold)"])
    print_table(["check", f"ours ns/op ({stat})", f"peer ns/op ({stat})", "best ratio", "ratio per run", "threshold",
                 "result"], rows)
    print(f"\n{len(rows) - failed} of {len(rows)} checks within their thresholds ({sys.argv[1]}, "
          f"{len(runs)} run{'s' if len(runs) > 1 else ''}).")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
