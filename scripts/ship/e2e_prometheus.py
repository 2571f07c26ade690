#!/usr/bin/env python3
"""End-to-end check of the autoscaling metrics against a real Prometheus server.

What runs (loopback only, everything stopped at the end):
  - two metrics-app instances ("pods" metrics-app-e2e-a and -b) with a short delay range;
  - a stand-in for Kong Operator's /metrics (lab/kong.py): kong_upstream_latency_ms for the
    metrics-app Service growing at a fixed rate (mean 120 ms), labelled service/namespace the
    way the operator re-exports them;
  - Prometheus (Debian's `prometheus`), temporary data directory, scraping every second, with
    the relabeling the Prometheus Operator generates for a ServiceMonitor (namespace, pod,
    service, job, endpoint labels; port-name keep rule). The scrape jobs are built from the
    ServiceMonitors in deploy/ (their port and path).

Load: about 20 requests/s at pod a and 5 requests/s at pod b, open loop, for longer than the
longest rate window in the adapter rules. While it runs, the checks read the Prometheus Adapter
rules from deploy/prometheus-adapter/rules-configmap.yaml, discover their series the way the
adapter does (seriesQuery), derive each metric's name (name.matches/as), expand <<.Series>>,
<<.LabelMatchers>> and <<.GroupBy>> as the adapter does for a pods query (and for a service
query), and query Prometheus' HTTP API:
  - http_requests_per_second per pod within 15% of the rate driven at it, and per service;
  - http_request_duration_seconds_p95 per pod inside the configured delay range;
  - with --native-histograms (Prometheus started with --enable-feature=native-histograms, which
    in 2.42 then stores only the native histogram): only the rules on native histograms, whose
    http_request_duration_seconds_native_p95 per pod must lie inside the delay range;
  - kong_upstream_latency_ms_60s_average (120 ms) and kong_upstream_requests_per_second (10/s)
    for Service metrics-app (exported_* labels);
  - up == 1 for both pods;
  - the KEDA ScaledObject's prometheus query (deploy/overlays/keda): one value, the total;
  - every HPA metric served by the adapter is a name the rules really produce.
Prints PASS/FAIL per check and `ship-e2e: N passed, M failed`; exits 1 on any failure.
"""
from __future__ import annotations

import argparse
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# The Prometheus, ServiceMonitor and adapter-rule code is shared with the autoscaling lab.
from lab.kong import KongOperatorMetrics  # noqa: E402
from lab.load import LoadGenerator, percentile  # noqa: E402
from lab.prometheus import (  # noqa: E402
    NAMESPACE, Processes, Prometheus, adapter_rules, derived_name, expand, http_get, load_yaml,
    rate_windows_seconds, require_tool, resource_labels, service_monitor_job, start_listening, start_prometheus,
    wait_until,
)
from checks import record, results, summary  # noqa: E402  (beside this script)

SERVICE = "metrics-app"
PODS = {"metrics-app-e2e-a": 20.0, "metrics-app-e2e-b": 5.0}  # pod -> requests/s driven
DELAY_MS = (100, 249)  # uniform delay: p95 of the histogram lands inside it (0.1 + 0.95 * 0.15 s)
KONG_MEAN_MS = 120.0
KONG_RPS = 10.0  # latency observations (proxied requests) per second
TOLERANCE = 0.15

def log(msg: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class FakeKongOperator:
    """Kong Operator's /metrics (lab/kong.py) for the metrics-app Service: KONG_RPS
    observations per second of KONG_MEAN_MS each, brought up to date by the clock at every
    scrape (exact whatever the machine's load)."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._fed = 0
        self._lock = threading.Lock()
        self.metrics = KongOperatorMetrics(SERVICE, NAMESPACE, before_render=self._catch_up)
        self.port = self.metrics.port

    def _catch_up(self) -> None:
        with self._lock:
            due = int((time.monotonic() - self._start) * KONG_RPS)
            for _ in range(due - self._fed):
                self.metrics.observe(KONG_MEAN_MS)
            self._fed = max(self._fed, due)

    def stop(self) -> None:
        self.metrics.stop()


# What each Kong rule must read from the stand-in: (value, unit); a Kong rule not listed fails.
KONG_EXPECTED = {"kong_upstream_latency_ms_60s_average": (KONG_MEAN_MS, "ms"),
                 "kong_upstream_requests_per_second": (KONG_RPS, "/s")}


def within(value: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    return abs(value - expected) <= tolerance * expected


# ---- the checks ------------------------------------------------------------------------------

def is_native_rule(rule: dict) -> bool:
    """A rule on a native histogram: histogram_quantile without `le` (buckets inside the sample)."""
    query = rule["metricsQuery"]
    return "histogram_quantile" in query and not re.search(r"\ble\b", query)


def run_checks(prom: Prometheus, drivers: dict[str, LoadGenerator], elapsed: float, native: bool = False) -> None:
    rules = [rule for rule in adapter_rules() if is_native_rule(rule) == native]
    record(bool(rules), f"{len(rules)} adapter rules to check with {'native' if native else 'classic'} histograms",
           "none: a rule was removed, or is_native_rule no longer recognises it")
    achieved = {pod: drivers[pod].ok / elapsed for pod in PODS}
    log("driven: " + ", ".join(f"{pod} {PODS[pod]:g}/s (answered {achieved[pod]:.2f}/s, "
                               f"{drivers[pod].failed} errors)" for pod in PODS))
    record(all(drivers[p].failed == 0 for p in PODS), "load: every request answered 200",
           f"errors: {[dict(d.failures) for d in drivers.values()]}")

    up = {r["metric"].get("pod"): float(r["value"][1]) for r in prom.query(f'up{{job="{SERVICE}"}}')}
    record(all(up.get(p) == 1.0 for p in PODS), f"up == 1 for both pods: {up}", f"got {up}")

    names: dict[str, tuple[dict, str]] = {}  # custom metric name -> (rule, series name)
    for rule in rules:
        found = prom.series(rule["seriesQuery"])
        labels = resource_labels(rule)
        series_names = sorted({s["__name__"] for s in found})
        is_kong = "exported_service" in rule["resources"]["overrides"]
        ok = bool(found) and all(all(lbl in s for lbl in labels.values()) for s in found)
        record(ok, f"adapter seriesQuery {rule['seriesQuery']} finds {len(found)} series "
                   f"with labels {sorted(labels.values())}", f"found {found[:3]}")
        for sn in series_names:
            derived = derived_name(rule, sn)
            if derived:
                names[derived] = (rule, sn)

        for sn in series_names:
            metric = derived_name(rule, sn)
            if is_kong:
                continue
            # A pods query: every pod of the namespace the HPA's selector matches.
            q = expand(rule["metricsQuery"], sn,
                       {labels["namespace"]: NAMESPACE, labels["pod"]: "=~" + "|".join(PODS)}, labels["pod"])
            values = {r["metric"].get(labels["pod"]): float(r["value"][1]) for r in prom.query(q)}
            shown = {p: round(v, 3) for p, v in values.items()}
            if metric == "http_requests_per_second":
                ok = set(values) == set(PODS) and all(within(values[p], PODS[p]) for p in PODS)
                record(ok, f"{metric} per pod within 15% of the driven rate {PODS}: {shown}",
                       f"query: {q}")
                q = expand(rule["metricsQuery"], sn, {labels["namespace"]: NAMESPACE, labels["service"]: SERVICE},
                           labels["service"])
                res = prom.query(q)
                total = sum(PODS.values())
                ok = len(res) == 1 and res[0]["metric"].get("service") == SERVICE and \
                    within(float(res[0]["value"][1]), total)
                record(ok, f"{metric} for service {SERVICE} within 15% of {total:g}: "
                           f"{[round(float(r['value'][1]), 3) for r in res]}", f"query: {q}; result {res}")
            elif metric == "http_request_duration_seconds_p95":
                lo, hi = DELAY_MS[0] / 1000, DELAY_MS[1] / 1000
                ok = set(values) == set(PODS) and all(lo <= values[p] <= hi for p in PODS)
                record(ok, f"{metric} per pod inside the delay range [{lo}, {hi}] s: {shown}", f"query: {q}")
            elif metric == "http_request_duration_seconds_native_p95":
                # Native buckets resolve the real latency (the delay plus serving time, more on a
                # busy machine): within one schema-3 bucket (a factor of 2^(1/8)) of the delay
                # range, or of the p99 the load generator saw at that pod (which includes the
                # server's time), whichever is higher.
                bucket = 2 ** (1 / 8)
                seen = {p: percentile(drivers[p].take_latencies(), 0.99) or float("nan") for p in PODS}
                bounds = {p: (DELAY_MS[0] / 1000 / bucket, max(DELAY_MS[1] / 1000, seen[p]) * bucket)
                          for p in PODS}
                ok = set(values) == set(PODS) and all(bounds[p][0] <= values[p] <= bounds[p][1] for p in PODS)
                shown_bounds = {p: (round(a, 3), round(b, 3)) for p, (a, b) in bounds.items()}
                record(ok, f"{metric} per pod within one bucket of the latency driven {shown_bounds}: {shown}",
                       f"query: {q}")
            else:
                record(bool(values), f"{metric} per pod: {shown}", f"query: {q}")
        if is_kong:
            metric = derived_name(rule, series_names[0]) if series_names else rule["name"]["as"]
            expected, unit = KONG_EXPECTED.get(metric, (None, ""))
            q = expand(rule["metricsQuery"], series_names[0] if series_names else "",
                       {labels["namespace"]: NAMESPACE, labels["service"]: SERVICE}, labels["service"])
            res = prom.query(q)
            ok = expected is not None and len(res) == 1 and res[0]["metric"].get(labels["service"]) == SERVICE \
                and within(float(res[0]["value"][1]), expected, 0.05)
            record(ok, f"{metric} for Service {SERVICE} (from exported_service/exported_namespace) "
                       f"= {[round(float(r['value'][1]), 2) for r in res]} {unit}, expected {expected}",
                   f"query: {q}; result {res}")

    if native:
        return  # the KEDA and HPA checks below read classic series, which this Prometheus lacks
    # KEDA's trigger: the ScaledObject's own query, one value, the total.
    so = load_yaml("overlays/keda/scaledobject.yaml")
    trig = next(t for t in so["spec"]["triggers"] if t["type"] == "prometheus")
    res = prom.query(trig["metadata"]["query"])
    total = sum(PODS.values())
    ok = len(res) == 1 and within(float(res[0]["value"][1]), total)
    record(ok, f"KEDA query {trig['metadata']['query']} = "
               f"{[round(float(r['value'][1]), 3) for r in res]}, within 15% of {total:g} "
               f"(threshold {trig['metadata']['threshold']}/pod)", f"result {res}")

    # Every adapter-served metric an HPA asks for is one the rules produce from real series.
    wanted = {}
    for rel in ("hpa.yaml", "overlays/latency/hpa.yaml", "overlays/kong/hpa.yaml"):
        for m in load_yaml(rel)["spec"]["metrics"]:
            if m["type"] in ("Pods", "Object"):
                wanted[m[m["type"].lower()]["metric"]["name"]] = rel
    missing = {n: rel for n, rel in wanted.items() if n not in names}
    record(not missing, f"HPA metrics {sorted(wanted)} are names the adapter derives from live series "
                        f"({sorted(names)})", f"missing: {missing}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--app", default=str(ROOT / ".build/release/metrics-app"))
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--extra-seconds", type=float, default=20,
                    help="drive this long beyond the longest rate window (default 20)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, config)")
    ap.add_argument("--native-histograms", action="store_true",
                    help="start Prometheus with --enable-feature=native-histograms and check the native-histogram rules")
    args = ap.parse_args()

    missing = [m for m in (require_tool(args.app, "build it: swift build -c release --product metrics-app"),
                           require_tool(args.prometheus, "Debian package prometheus: apt-get install prometheus"))
               if m]
    for m in missing:
        print(f"FAIL  {m}")
    if missing:
        return 1

    rules = adapter_rules()
    so = load_yaml("overlays/keda/scaledobject.yaml")
    keda_queries = [t["metadata"]["query"] for t in so["spec"]["triggers"] if t["type"] == "prometheus"]
    window = max(rate_windows_seconds(rules, keda_queries))
    drive = window + args.extra_seconds
    log(f"longest rate window {window:.0f}s: driving load for {drive:.0f}s")

    tmp = Path(tempfile.mkdtemp(prefix="ship-e2e-"))
    procs = Processes()
    fake_kong = None
    drivers: dict[str, LoadGenerator] = {}
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum
        raise KeyboardInterrupt

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        app_ports = {}
        for pod in PODS:
            _, app_ports[pod] = start_listening(
                procs, pod,
                lambda port: [args.app, "--host", "127.0.0.1", "--port", str(port),
                              "--delay-min", str(DELAY_MS[0]), "--delay-max", str(DELAY_MS[1]),
                              "--threads", "2", "--shutdown-timeout", "5"],
                tmp / f"{pod}.log",
                # its own "listening" line first: a /readyz answer alone could come from another process
                lambda port, log=tmp / f"{pod}.log": b"listening" in log.read_bytes()
                and http_get(f"http://127.0.0.1:{port}/readyz", 1)[0] == 200)
        fake_kong = FakeKongOperator()

        app_sm = load_yaml("base/servicemonitor.yaml")
        kong_sm = load_yaml("overlays/kong/servicemonitor-kong-operator.yaml")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                service_monitor_job(app_sm, [(f"127.0.0.1:{port}", NAMESPACE, SERVICE, pod)
                                             for pod, port in app_ports.items()], "metrics-app"),
                service_monitor_job(kong_sm, [(f"127.0.0.1:{fake_kong.port}", "kong-system",
                                               "kong-operator-metrics", "kong-operator-e2e")], "manager"),
            ],
        }
        prom = start_prometheus(procs, tmp, config, args.prometheus,
                                extra_args=["--enable-feature=native-histograms"] if args.native_histograms else [])
        wait_until("both pods scraped", lambda: len(prom.query(f'up{{job="{SERVICE}"}} == 1')) == len(PODS), 30)
        log(f"Prometheus {prom.base} scrapes {len(PODS)} metrics-app pods and the Kong Operator stand-in")

        # Open-loop load, each instance on its own: 20/s at pod a, 5/s at pod b.
        for pod, port in app_ports.items():
            drivers[pod] = LoadGenerator(lambda p=pod, u=f"http://127.0.0.1:{port}": [(p, u)], PODS[pod],
                                         timeout=5, workers=32)
        started = time.monotonic()
        for d in drivers.values():
            d.start()
        while (elapsed := time.monotonic() - started) < drive:
            time.sleep(min(15, drive - elapsed))
            log(f"load running {time.monotonic() - started:.0f}/{drive:.0f}s")
        time.sleep(1)
        run_checks(prom, drivers, time.monotonic() - started, native=args.native_histograms)
    except KeyboardInterrupt:
        record(False, f"interrupted by signal {stopping['signal'] or 'SIGINT'}")
    except Exception as e:  # noqa: BLE001 - report any setup failure as a failed check
        traceback.print_exc()
        record(False, f"e2e setup or query: {e}")
    finally:
        for d in drivers.values():
            d.stop()
        if fake_kong:
            fake_kong.stop()
        codes = procs.stop_all()
        for s, h in old_handlers.items():
            signal.signal(s, h)
        app_codes = {p: codes.get(p) for p in PODS}
        if app_codes and all(p in codes for p in PODS):
            record(all(c == 0 for c in app_codes.values()),
                   f"metrics-app instances drained and exited 0 on SIGTERM: {app_codes}")
        if args.keep or any(not ok for ok, _ in results):
            print(f"logs and config kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    return summary("ship-e2e")


if __name__ == "__main__":
    sys.exit(main())
