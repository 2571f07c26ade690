#!/usr/bin/env python3
"""Prints the MetricsKit vs swift-prometheus comparison table.

Usage: comparison_table.py RESULTS.jmh.json MEMORY.txt

RESULTS.jmh.json is `swift package benchmark --format jmh` output of the MetricsKitBenchmarks
target; MEMORY.txt holds the `bytes_per_series <library> <series> <bytes> <per series>` lines
printed by SeriesMemory. Standard library only.
"""

import json
import sys

# Operations per measured iteration: the scalingFactor of each benchmark in
# Benchmarks/MetricsKitBenchmarks/MetricsKitBenchmarks.swift, `twoThreadOps` for the two-thread
# one (keep the two in step).
OPS = {
    "counter_increment": 1_000_000,
    "labeled_lookup_increment": 1_000,
    "histogram_observe_1_thread": 1_000_000,
    "histogram_observe_2_threads": 200_000,
    "histogram_observe_exemplar": 1_000,
    "traced_increment_not_due": 1_000_000,
    "traced_increment_every_call": 1_000,
    "traced_increment_no_span": 1_000,
    "traced_observe_not_due": 1_000_000,
    "traced_observe_every_call": 1_000,
    "native_observe_1_thread": 1_000_000,
    "native_observe_2_threads": 200_000,
    "render_openmetrics_5000_series": 1,
    "render_1000_series": 1,
    "render_5000_series": 1,
    "scrape_1000_series": 1,
    "scrape_5000_series": 1,
    "scrape_gzip_1000_series": 1,
    "scrape_gzip_5000_series": 1,
}

WALL_CLOCK = "Time (wall clock)"
WALL_CLOCK_P50 = "Time (wall clock) p50"
MALLOCS = "Malloc (total)"


def jmh_benchmarks(path):
    """(name, element) for each benchmark of a JMH export; name is "<workload>/<library>"."""
    with open(path, encoding="utf-8") as handle:
        elements = json.load(handle)
    return [(element["benchmark"].split(".", 3)[-1], element) for element in elements]  # package.benchmark.<target>.<name>


def load_benchmarks(path):
    """{(workload, library): {metric: value, "samples": n}} with wall clock in ns: the fastest
    sample (the statistic bench-check and docs/performance.md use: noise on a shared machine only
    makes samples slower) and the p50 beside it; mallocs at p50."""
    results = {}
    for name, element in jmh_benchmarks(path):
        workload, _, library = name.partition("/")
        # The JMH exporter shares one secondary-metrics map between benchmarks; a metric a
        # benchmark does not measure may show another's value, so only read what it measures.
        metrics = element.get("secondaryMetrics", {})
        entry = {"samples": element.get("measurementIterations", 0)}
        if WALL_CLOCK in metrics:
            percentiles = metrics[WALL_CLOCK]["scorePercentiles"]
            entry[WALL_CLOCK] = percentiles["0.0"] * 1_000  # μs -> ns
            entry[WALL_CLOCK_P50] = percentiles["50.0"] * 1_000
        if MALLOCS in metrics:
            entry[MALLOCS] = metrics[MALLOCS]["scorePercentiles"]["50.0"]
        results[(workload, library)] = entry
    return results


def load_memory(path):
    """{library: bytes per series}"""
    memory = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) == 5 and fields[0] == "bytes_per_series":
                    memory[fields[1]] = float(fields[4])
    except FileNotFoundError:
        pass
    return memory


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results = load_benchmarks(sys.argv[1])
    memory = load_memory(sys.argv[2])

    def per_op(workload, library, metric=WALL_CLOCK):
        entry = results.get((workload, library))
        if entry is None or metric not in entry:
            return None
        return entry[metric] / OPS[workload]

    def mallocs(workload, library):
        entry = results.get((workload, library))
        return None if entry is None else entry.get(MALLOCS)

    def ratio(ours, peer):
        if ours is None or peer is None or peer == 0:
            return None
        return ours / peer

    def time_row(label, workload, peer, max_ratio=None, max_ns=None, scale=1.0):
        ours = per_op(workload, "MetricsKit")
        theirs = per_op(workload, peer)
        r = ratio(ours, theirs)
        goals, met = [], True
        if max_ratio is not None:
            goals.append(f"ratio <= {max_ratio:.2f}")
            met = met and r <= max_ratio if r is not None else None
        if max_ns is not None:
            goals.append(f"MetricsKit <= {max_ns:g} ns")
            met = met and ours <= max_ns if ours is not None and met is not None else None
        target = verdict(" and ".join(goals), met) if goals else "-"
        p50 = f"{number(per_op(workload, 'MetricsKit', WALL_CLOCK_P50), scale)} / " \
              f"{number(per_op(workload, peer, WALL_CLOCK_P50), scale)}"
        return [label, number(ours, scale), number(theirs, scale), number(r), target, p50]

    rows = [
        time_row("unlabeled counter increment, ns/op (vs bare Atomic floor)",
                 "counter_increment", "floor_atomic", max_ratio=1.2),
        time_row("unlabeled counter increment, ns/op",
                 "counter_increment", "swift-prometheus"),
        time_row("labels(\"GET\",\"/\",\"200\").increment() existing series, ns/op",
                 "labeled_lookup_increment", "swift-prometheus", max_ratio=0.2, max_ns=40),
        time_row("histogram observe, 11 buckets, 1 thread, ns/op",
                 "histogram_observe_1_thread", "swift-prometheus", max_ratio=1 / 3, max_ns=12),
        time_row("histogram observe with an exemplar vs without (MetricsKit), ns/op",
                 "histogram_observe_exemplar", "MetricsKit_without"),
        time_row("counter increment in a span, exemplar from trace not due (100 ms rule) vs plain, ns/op",
                 "traced_increment_not_due", "MetricsKit_plain"),
        time_row("counter increment in a span, exemplar from trace on every call vs plain, ns/op",
                 "traced_increment_every_call", "MetricsKit_plain"),
        time_row("counter increment outside any span, trace looked up on every call vs plain, ns/op",
                 "traced_increment_no_span", "MetricsKit_plain"),
        time_row("histogram observe in a span, exemplar from trace not due (100 ms rule) vs plain, ns/op",
                 "traced_observe_not_due", "MetricsKit_plain"),
        time_row("histogram observe in a span, exemplar from trace on every call vs plain, ns/op",
                 "traced_observe_every_call", "MetricsKit_plain"),
        time_row("histogram observe, 2 threads on one histogram, ns/op (batch / all ops)",
                 "histogram_observe_2_threads", "swift-prometheus", max_ratio=1 / 3),
        time_row("native histogram observe, 1 thread, ns/op (vs our classic observe)",
                 "native_observe_1_thread", "MetricsKit_classic", max_ratio=2.0),
        time_row("native histogram observe, 1 thread, ns/op (vs swift-prometheus classic record)",
                 "native_observe_1_thread", "swift-prometheus", max_ratio=1.0),
        time_row("native histogram observe, 2 threads, ns/op (vs our classic observe)",
                 "native_observe_2_threads", "MetricsKit_classic", max_ratio=2.0),
        time_row("native histogram observe, 2 threads, ns/op (vs swift-prometheus classic record)",
                 "native_observe_2_threads", "swift-prometheus", max_ratio=1.0),
        time_row("render 1,000 series into reused buffer, us/scrape",
                 "render_1000_series", "swift-prometheus", scale=1e-3),
        time_row("render 5,000 series into reused buffer, us/scrape",
                 "render_5000_series", "swift-prometheus", max_ratio=1 / 3, scale=1e-3),
        time_row("render 5,000 series as OpenMetrics (peer: its 0.0.4 emit), us/scrape",
                 "render_openmetrics_5000_series", "swift-prometheus", scale=1e-3),
    ]

    ours_1k, ours_5k = mallocs("render_1000_series", "MetricsKit"), mallocs("render_5000_series", "MetricsKit")
    peer_1k, peer_5k = mallocs("render_1000_series", "swift-prometheus"), mallocs("render_5000_series", "swift-prometheus")
    flat = ours_5k <= ours_1k if ours_1k is not None and ours_5k is not None else None
    rows.append(["mallocs per scrape, 1,000 series", number(ours_1k), number(peer_1k), number(ratio(ours_1k, peer_1k)), "-"])
    rows.append(["mallocs per scrape, 5,000 series", number(ours_5k), number(peer_5k), number(ratio(ours_5k, peer_5k)),
                 verdict("MetricsKit <= its 1,000-series count", flat)])

    # The scrape API against MetricsKit's own render (the peer has no scrape API or gzip).
    for count in ("1000", "5000"):
        label = f"{int(count):,}"
        scrape, plain = per_op(f"scrape_{count}_series", "MetricsKit"), per_op(f"render_{count}_series", "MetricsKit")
        rows.append([f"scrape API, {label} series, plain (peer: MetricsKit render alone), us/scrape",
                     number(scrape, 1e-3), number(plain, 1e-3), number(ratio(scrape, plain)), "-"])
        gzipped = per_op(f"scrape_gzip_{count}_series", "MetricsKit")
        rows.append([f"scrape API, {label} series, render + gzip, us/scrape", number(gzipped, 1e-3), "n/a", "n/a", "-"])
    scrape_1k, scrape_5k = mallocs("scrape_1000_series", "MetricsKit"), mallocs("scrape_5000_series", "MetricsKit")
    gzip_1k, gzip_5k = mallocs("scrape_gzip_1000_series", "MetricsKit"), mallocs("scrape_gzip_5000_series", "MetricsKit")
    rows.append(["scrape API mallocs per scrape, 1,000 series (peer: render alone)", number(scrape_1k), number(ours_1k),
                 number(ratio(scrape_1k, ours_1k)), "-"])
    rows.append(["scrape API mallocs per scrape, 5,000 series (peer: render alone)", number(scrape_5k), number(ours_5k),
                 number(ratio(scrape_5k, ours_5k)),
                 verdict("no more than at 1,000 series (none per sample)",
                         scrape_5k <= scrape_1k if scrape_1k is not None and scrape_5k is not None else None)])
    rows.append(["scrape API + gzip mallocs per scrape, 1,000 / 5,000 series", f"{number(gzip_1k)} / {number(gzip_5k)}",
                 "n/a", "n/a",
                 verdict("5,000 <= 1,000", gzip_5k <= gzip_1k if gzip_1k is not None and gzip_5k is not None else None)])

    ours_mem, peer_mem = memory.get("metricskit"), memory.get("swift-prometheus")
    rows.append(["memory per labeled counter series (100,000 series), bytes", number(ours_mem), number(peer_mem),
                 number(ratio(ours_mem, peer_mem)),
                 verdict("MetricsKit <= 256 bytes", ours_mem <= 256 if ours_mem is not None else None)])

    header = ["workload", "MetricsKit", "swift-prometheus (or floor)", "ratio (MetricsKit / peer)", "target",
              "p50 (MetricsKit / peer)"]
    rows = [row + ["-"] * (len(header) - len(row)) for row in rows]
    print_table(header, rows)
    samples = [entry["samples"] for entry in results.values()]
    if samples:
        print(f"\nTimes are the fastest of {min(samples)}-{max(samples)} samples per benchmark (ordo-one/benchmark, "
              "release build), as make bench-check reads them, with the p50s in the last column (load on a "
              "shared machine moves p50s, not the fastest sample: docs/performance.md); mallocs are p50 per "
              "scrape; ratio < 1 means MetricsKit is faster or smaller.")


def number(value, scale=1.0):
    if value is None:
        return "n/a"
    value *= scale
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 1_000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def verdict(goal, met):
    """met: True, False, or None when a number is missing."""
    return f"{goal}: {'n/a' if met is None else 'ok' if met else 'MISSED'}"


def print_table(header, rows):
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    right = {1, 2, 3}

    def line(cells):
        padded = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|")
    for row in rows:
        print(line(row))


if __name__ == "__main__":
    main()
