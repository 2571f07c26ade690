#!/usr/bin/env python3
"""End-to-end check of the autoscaling metrics against a real Prometheus server.

What runs (loopback only, everything stopped at the end):
  - two metrics-app instances ("pods" metrics-app-e2e-a and -b) with a short delay range;
  - a tiny stand-in for Kong Operator's /metrics: kong_upstream_latency_ms_sum/_count for the
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
  - kong_upstream_latency_ms_60s_average for Service metrics-app (exported_* labels);
  - up == 1 for both pods;
  - the KEDA ScaledObject's prometheus query (deploy/overlays/keda): one value, the total;
  - every HPA metric served by the adapter is a name the rules really produce.
Prints PASS/FAIL per check and `ship-e2e: N passed, M failed`; exits 1 on any failure.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NAMESPACE = "demo-ns"
SERVICE = "metrics-app"
PODS = {"metrics-app-e2e-a": 20.0, "metrics-app-e2e-b": 5.0}  # pod -> requests/s driven
DELAY_MS = (100, 249)  # uniform delay: p95 of the histogram lands inside it (0.1 + 0.95 * 0.15 s)
KONG_MEAN_MS = 120.0
TOLERANCE = 0.15

results: list[tuple[bool, str]] = []


def record(ok: bool, what: str, detail: str = "") -> bool:
    results.append((ok, what))
    print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f"\n      {detail}" if detail and not ok else ""), flush=True)
    return ok


def log(msg: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


# ---- deploy/ ---------------------------------------------------------------------------------

def load_yaml(rel: str) -> dict:
    return yaml.safe_load((DEPLOY / rel).read_text())


def adapter_rules() -> list[dict]:
    cm = load_yaml("prometheus-adapter/rules-configmap.yaml")
    return yaml.safe_load(cm["data"]["config.yaml"])["rules"]


def rate_windows_seconds(rules: list[dict], extra: list[str]) -> list[float]:
    units = {"s": 1, "m": 60, "h": 3600}
    out = []
    for text in [r["metricsQuery"] for r in rules] + extra:
        for num, unit in re.findall(r"\[(\d+)([smh])[\]:]", text):
            out.append(int(num) * units[unit])
    return out


def resource_labels(rule: dict) -> dict[str, str]:
    """resource name -> series label (resources.overrides)."""
    return {v["resource"]: k for k, v in rule["resources"]["overrides"].items()}


def derived_name(rule: dict, series_name: str) -> str | None:
    """The custom metric name the adapter derives from a series name (name.matches / name.as)."""
    name = rule.get("name", {})
    m = re.search(name.get("matches", "") or ".*", series_name)
    if not m:
        return None
    as_ = name.get("as", "")
    if not as_:
        return m.group(1) if m.groups() else m.group(0)
    return re.sub(r"\$\{?(\d+)\}?", lambda g: m.group(int(g.group(1))) or "", as_)


def expand(query: str, series: str, matchers: dict[str, str], group_by: str) -> str:
    """<<.Series>>, <<.LabelMatchers>>, <<.GroupBy>> as prometheus-adapter fills them."""
    label_matchers = ",".join(
        f'{label}=~"{value[2:]}"' if value.startswith("=~") else f'{label}="{value}"'
        for label, value in matchers.items())
    out = query.replace("<<.Series>>", series).replace("<<.LabelMatchers>>", label_matchers)
    out = out.replace("<<.GroupBy>>", group_by)
    if "<<" in out:
        raise ValueError(f"template construct this test does not expand: {out}")
    return out


# ---- processes -------------------------------------------------------------------------------

class Processes:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], logfile: Path) -> subprocess.Popen:
        out = open(logfile, "wb")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.procs.append((name, proc))
        return proc

    def stop_all(self) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                codes[name] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[name] = None
        self.procs.clear()
        return codes


class FakeKongOperator:
    """Serves what Kong Operator re-exports for the metrics-app Service: counters that grow at
    10 observations/s with a mean of KONG_MEAN_MS."""

    def __init__(self) -> None:
        start = time.monotonic()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                count = int((time.monotonic() - start) * 10)
                labels = (f'service="{SERVICE}",namespace="{NAMESPACE}",kubernetes_kind="Service",'
                          f'kubernetes_name="{SERVICE}",kubernetes_namespace="{NAMESPACE}"')
                body = (
                    "# HELP kong_upstream_latency_ms Upstream latency in ms, enriched by Kong Operator.\n"
                    "# TYPE kong_upstream_latency_ms histogram\n"
                    f'kong_upstream_latency_ms_bucket{{{labels},le="+Inf"}} {count}\n'
                    f"kong_upstream_latency_ms_sum{{{labels}}} {count * KONG_MEAN_MS}\n"
                    f"kong_upstream_latency_ms_count{{{labels}}} {count}\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LoadDriver:
    """Open-loop load: request i at t0 + i/rate, whatever the earlier ones do."""

    def __init__(self, targets: dict[str, tuple[str, float]]) -> None:
        self.targets = targets
        self.stop_event = threading.Event()
        self.ok = {pod: 0 for pod in targets}
        self.errors = {pod: 0 for pod in targets}
        self.latencies: dict[str, list[tuple[float, float]]] = {pod: [] for pod in targets}  # (end, seconds)
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=32)
        self.threads = [threading.Thread(target=self._pace, args=(pod,), daemon=True) for pod in targets]
        self.started = 0.0

    def _one(self, pod: str, url: str) -> None:
        start = time.monotonic()
        try:
            status, _ = http_get(url, timeout=5)
            ok = status == 200
        except OSError:
            ok = False
        end = time.monotonic()
        with self.lock:
            (self.ok if ok else self.errors)[pod] += 1
            self.latencies[pod].append((end, end - start))

    def p99(self, pod: str, window: float) -> float:
        """The 99th percentile of the latencies the client saw over the last `window` seconds."""
        now = time.monotonic()
        with self.lock:
            recent = sorted(seconds for end, seconds in self.latencies[pod] if now - end <= window)
        return recent[min(len(recent) - 1, int(0.99 * len(recent)))] if recent else float("nan")

    def _pace(self, pod: str) -> None:
        url, rate = self.targets[pod]
        i = 0
        while not self.stop_event.is_set():
            due = self.started + i / rate
            delay = due - time.monotonic()
            if delay > 0 and self.stop_event.wait(delay):
                break
            self.pool.submit(self._one, pod, url)
            i += 1

    def start(self) -> None:
        self.started = time.monotonic()
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join()
        self.pool.shutdown(wait=True)


def service_monitor_job(sm: dict, job_targets: list[tuple[str, str, str, str]], container: str) -> dict:
    """A scrape job like the one the Prometheus Operator generates for the ServiceMonitor's first
    endpoint; targets: (address, namespace, service, pod) stand in for endpoint discovery."""
    ep = sm["spec"]["endpoints"][0]
    return {
        "job_name": f"serviceMonitor/{sm['metadata'].get('namespace', NAMESPACE)}/{sm['metadata']['name']}/0",
        "scrape_interval": "1s",
        "scrape_timeout": "900ms",
        "metrics_path": ep.get("path", "/metrics"),
        "static_configs": [{
            "targets": [addr],
            "labels": {
                "__meta_kubernetes_namespace": ns,
                "__meta_kubernetes_service_name": svc,
                "__meta_kubernetes_pod_name": pod,
                "__meta_kubernetes_pod_container_name": container,
                "__meta_kubernetes_endpoint_port_name": ep["port"],
            },
        } for addr, ns, svc, pod in job_targets],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": ep["port"], "action": "keep"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
            {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job"},
            {"target_label": "endpoint", "replacement": ep["port"]},
        ],
    }


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, promql: str) -> list[dict]:
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        status, body = http_get(url, timeout=10)
        data = json.loads(body)
        if status != 200 or data.get("status") != "success":
            raise RuntimeError(f"query failed ({status}): {promql}: {data.get('error', body[:200])}")
        return data["data"]["result"]

    def series(self, match: str) -> list[dict]:
        url = f"{self.base}/api/v1/series?" + urllib.parse.urlencode({"match[]": match, "start": time.time() - 300})
        status, body = http_get(url, timeout=10)
        data = json.loads(body)
        if status != 200 or data.get("status") != "success":
            raise RuntimeError(f"series failed ({status}): {match}: {data.get('error', body[:200])}")
        return data["data"]


def within(value: float, expected: float, tolerance: float = TOLERANCE) -> bool:
    return abs(value - expected) <= tolerance * expected


# ---- the checks ------------------------------------------------------------------------------

def is_native_rule(rule: dict) -> bool:
    """A rule on a native histogram: histogram_quantile without `le` (buckets inside the sample)."""
    query = rule["metricsQuery"]
    return "histogram_quantile" in query and not re.search(r"\ble\b", query)


def run_checks(prom: Prometheus, driver: LoadDriver, elapsed: float, native: bool = False) -> None:
    rules = [rule for rule in adapter_rules() if is_native_rule(rule) == native]
    achieved = {pod: driver.ok[pod] / elapsed for pod in PODS}
    log("driven: " + ", ".join(f"{pod} {PODS[pod]:g}/s (answered {achieved[pod]:.2f}/s, "
                               f"{driver.errors[pod]} errors)" for pod in PODS))
    record(all(driver.errors[p] == 0 for p in PODS), "load: every request answered 200",
           f"errors: {driver.errors}")

    up = {r["metric"].get("pod"): float(r["value"][1]) for r in prom.query(f'up{{job="{SERVICE}"}}')}
    record(all(up.get(p) == 1.0 for p in PODS), f"up == 1 for both pods: {up}", f"got {up}")

    pod_matchers = {"=~": "|".join(PODS)}
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
                # range, or of the p99 the load driver saw at that pod (which includes the
                # server's time), whichever is higher.
                bucket = 2 ** (1 / 8)
                bounds = {p: (DELAY_MS[0] / 1000 / bucket, max(DELAY_MS[1] / 1000, driver.p99(p, 120)) * bucket)
                          for p in PODS}
                ok = set(values) == set(PODS) and all(bounds[p][0] <= values[p] <= bounds[p][1] for p in PODS)
                shown_bounds = {p: (round(a, 3), round(b, 3)) for p, (a, b) in bounds.items()}
                record(ok, f"{metric} per pod within one bucket of the latency driven {shown_bounds}: {shown}",
                       f"query: {q}")
            else:
                record(bool(values), f"{metric} per pod: {shown}", f"query: {q}")
        if is_kong:
            metric = derived_name(rule, series_names[0]) if series_names else rule["name"]["as"]
            q = expand(rule["metricsQuery"], series_names[0] if series_names else "",
                       {labels["namespace"]: NAMESPACE, labels["service"]: SERVICE}, labels["service"])
            res = prom.query(q)
            ok = len(res) == 1 and res[0]["metric"].get(labels["service"]) == SERVICE and \
                within(float(res[0]["value"][1]), KONG_MEAN_MS, 0.05)
            record(ok, f"{metric} for Service {SERVICE} (from exported_service/exported_namespace) "
                       f"= {[round(float(r['value'][1]), 2) for r in res]} ms, expected {KONG_MEAN_MS:g}",
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

    for tool in (args.app, args.prometheus):
        if not shutil.which(tool) and not os.access(tool, os.X_OK):
            print(f"FAIL  {tool} not found" + (
                " (Debian package prometheus: apt-get install prometheus)" if tool == args.prometheus
                else " (build it: swift build -c release --product metrics-app)"))
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
    driver = None
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum
        raise KeyboardInterrupt

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        app_ports = {}
        for pod in PODS:
            port = free_port()
            app_ports[pod] = port
            procs.start(pod, [args.app, "--host", "127.0.0.1", "--port", str(port),
                              "--delay-min", str(DELAY_MS[0]), "--delay-max", str(DELAY_MS[1]),
                              "--threads", "2", "--shutdown-timeout", "5"], tmp / f"{pod}.log")
        for pod, port in app_ports.items():
            wait_until(f"{pod} /readyz", lambda p=port: http_get(f"http://127.0.0.1:{p}/readyz", 1)[0] == 200, 20)
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
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        prom_port = free_port()
        procs.start("prometheus", [args.prometheus, f"--config.file={tmp / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={tmp / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"]
                    + (["--enable-feature=native-histograms"] if args.native_histograms else []),
                    tmp / "prometheus.log")
        base = f"http://127.0.0.1:{prom_port}"
        wait_until("Prometheus ready", lambda: http_get(f"{base}/-/ready", 1)[0] == 200, 60)
        prom = Prometheus(base)
        wait_until("both pods scraped", lambda: len(prom.query(f'up{{job="{SERVICE}"}} == 1')) == len(PODS), 30)
        log(f"Prometheus {base} scrapes {len(PODS)} metrics-app pods and the Kong Operator stand-in")

        driver = LoadDriver({pod: (f"http://127.0.0.1:{port}/", PODS[pod]) for pod, port in app_ports.items()})
        driver.start()
        while (elapsed := time.monotonic() - driver.started) < drive:
            time.sleep(min(15, drive - elapsed))
            log(f"load running {time.monotonic() - driver.started:.0f}/{drive:.0f}s")
        time.sleep(1)
        run_checks(prom, driver, time.monotonic() - driver.started, native=args.native_histograms)
    except KeyboardInterrupt:
        record(False, f"interrupted by signal {stopping['signal'] or 'SIGINT'}")
    except Exception as e:  # noqa: BLE001 - report any setup failure as a failed check
        traceback.print_exc()
        record(False, f"e2e setup or query: {e}")
    finally:
        if driver:
            driver.stop()
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

    failed = sum(1 for ok, _ in results if not ok)
    print(f"ship-e2e: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
