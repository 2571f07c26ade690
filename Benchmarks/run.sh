#!/usr/bin/env bash
# Builds and runs the MetricsKit vs swift-prometheus benchmarks and prints one comparison table.
#
#   Benchmarks/run.sh            (from anywhere; `make bench` calls it)
#   Benchmarks/run.sh --check    only the benchmarks Benchmarks/thresholds.json names, then fail
#                                when a ratio is past its threshold (`make bench-check`, CI)
#
# Time and mallocs come from ordo-one/benchmark (`swift package benchmark`, release build,
# JMH export); bytes per series from the SeriesMemory executable (glibc mallinfo2). Build and
# run logs go to Benchmarks/.build/bench/*.log, shown only when a step fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
out=.build/bench
mkdir -p "$out"
rm -f "$out"/*.jmh.json "$out"/memory.txt "$out"/check.txt

step() { printf '%s\n' "$*" >&2; }

# Runs a command with its output in a log file; on failure shows the log's end and exits.
logged() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        step "failed: $* (log: Benchmarks/$log)"
        tail -n 40 "$log" >&2
        exit 1
    fi
}

# Runs the ordo-one benchmarks (release build) with extra arguments, JMH results into $out.
run_benchmarks() {
    logged "$out/benchmark.log" swift package --allow-writing-to-package-directory benchmark \
        --target MetricsKitBenchmarks --no-progress --format jmh --path "$out" "$@"
}

# The first JMH file in $out, or exit.
results() {
    local found=("$out"/*.jmh.json)
    if [[ ! -f ${found[0]} ]]; then
        step "no JMH results in Benchmarks/$out (log: Benchmarks/$out/benchmark.log)"
        exit 1
    fi
    printf '%s\n' "${found[0]}"
}

if [[ ${1:-} == --check ]]; then
    filters=()
    while read -r regex; do filters+=(--filter "$regex"); done < <(python3 Scripts/bench_check.py thresholds.json --filters)
    step "building (release) and running the benchmarks thresholds.json checks (about 1 minute a run)..."
    # Up to 3 runs; each check takes its best (a load burst slows one run, a slower build all).
    runs=()
    for attempt in 1 2 3; do
        SECONDS=0
        run_benchmarks "${filters[@]}"
        runs+=("$out/check-$attempt.jmh.json")
        mv "$(results)" "${runs[-1]}"
        step "run $attempt: ${SECONDS}s"
        if python3 Scripts/bench_check.py thresholds.json "${runs[@]}" >"$out/check.txt"; then
            break
        fi
        [[ $attempt == 3 ]] || step "a check is past its threshold; running again"
    done
    echo
    cat "$out/check.txt"
    python3 Scripts/bench_check.py thresholds.json "${runs[@]}" >/dev/null
    exit
fi

step "building (release)..."
logged "$out/build.log" swift build -c release --product SeriesMemory

step "running time and malloc benchmarks (about 1-2 minutes)..."
run_benchmarks

step "measuring bytes per series..."
bin=$(swift build -c release --show-bin-path)
for library in metricskit swift-prometheus; do
    "$bin/SeriesMemory" "$library" 100000 >>"$out/memory.txt"
done

echo
python3 Scripts/comparison_table.py "$(results)" "$out/memory.txt"
