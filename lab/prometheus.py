"""A real Prometheus scraping metrics-app "pods", and the Prometheus Adapter's rules over it.

Shared by the autoscaling lab (lab/) and the end-to-end check scripts/ship/e2e_prometheus.py:
  - processes on loopback (free_port, http_get, wait_until, Processes, start_listening) and
    MetricsEndpoint, a text /metrics served from a render function (the lab's stand-ins);
  - deploy/ files: load_yaml, adapter_config_text and adapter_rules (the one reader of
    deploy/prometheus-adapter/rules-configmap.yaml, the one place of the adapter rules);
  - the scrape job the Prometheus Operator generates for a ServiceMonitor (namespace, pod,
    service, container, job and endpoint labels; the port-name keep rule), with static targets
    or a file_sd file the lab rewrites as pods come and go;
  - starting Debian's `prometheus` and querying its HTTP API;
  - the adapter: a rule's series discovery (seriesQuery), the metric name it derives
    (name.matches / name.as), <<.Series>>, <<.LabelMatchers>>, <<.GroupBy>> expanded as the
    adapter does, and sample values turned into quantities (milli-units) the way it does.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import yaml

from lab import quantity

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
NAMESPACE = "demo-ns"


# ---- processes on loopback -------------------------------------------------------------------

_issued_ports: set[int] = set()
_issued_lock = threading.Lock()


def free_port() -> int:
    """A loopback port nothing listens on, never handed out twice by this process.

    The kernel may give the same ephemeral port to two bind(0) calls once the first socket is
    closed; two servers started on it would then split one port (the second fails to bind and a
    readiness check reaches the first). Remembering what was handed out rules that out here;
    start_listening covers a port another process took in between.
    """
    with _issued_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _issued_ports:
                _issued_ports.add(port)
                return port
    raise RuntimeError("no loopback port left that this process has not handed out")


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(what: str, check, timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


class Processes:
    """Child processes, each logging to a file; stop_all sends SIGTERM and waits."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], logfile: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        out = open(logfile, "wb")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        out.close()
        self.procs.append((name, proc))
        return proc

    def stop_all(self, timeout: float = 30) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                codes[name] = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[name] = None
        self.procs.clear()
        return codes


def start_listening(procs: Processes, name: str, argv_for_port, logfile: Path, ready, timeout: float = 20,
                    attempts: int = 3, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """Starts `argv_for_port(port)` on a free port and waits until `ready(port)` is true.

    A process that exits before it is ready lost its port (or failed): it is started again on
    another port, up to `attempts` times; then the error carries the end of its log.
    """
    for attempt in range(1, attempts + 1):
        port = free_port()
        proc = procs.start(name, argv_for_port(port), logfile, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if ready(port):
                    if proc.poll() is None:  # still alive: the answer was its own
                        return proc, port
                    break
            except OSError:
                pass
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{name} not ready on port {port} after {timeout:.0f}s; log {logfile}")
        procs.procs = [(n, p) for n, p in procs.procs if p is not proc]
        tail = logfile.read_text(errors="replace")[-600:] if logfile.exists() else ""
        if attempt == attempts:
            raise RuntimeError(f"{name} exited with {proc.returncode} before it was ready "
                               f"(port {port}, attempt {attempt}): {tail}")
    raise AssertionError("unreachable")


class MetricsEndpoint:
    """`GET /metrics` on a loopback port, answering `render()` in the text format 0.0.4 (the
    stand-ins for kube-state-metrics and Kong Operator); 404 for any other path."""

    def __init__(self, render: Callable[[], str], name: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name=name, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def require_tool(tool: str, how: str) -> str | None:
    """None when `tool` runs, else a message saying how to install it."""
    if shutil.which(tool) or os.access(tool, os.X_OK):
        return None
    return f"{tool} not found ({how})"


# ---- deploy/ ---------------------------------------------------------------------------------

def load_yaml(rel: str) -> dict:
    return yaml.safe_load((DEPLOY / rel).read_text())


ADAPTER_RULES_FILE = "prometheus-adapter/rules-configmap.yaml"


def adapter_config_text() -> str:
    """The adapter's config.yaml as rules-configmap.yaml carries it (the one place of the rules)."""
    return load_yaml(ADAPTER_RULES_FILE)["data"]["config.yaml"]


def adapter_rules() -> list[dict]:
    return yaml.safe_load(adapter_config_text())["rules"]


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_RANGE = re.compile(r"\[((?:\d+(?:ms|s|m|h|d))+)(?::((?:\d+(?:ms|s|m|h|d))+)?)?\]")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")


def duration_seconds(text: str) -> float:
    """A Prometheus duration ("2m", "1m30s", "500ms") in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def range_windows(promql: str) -> list[float]:
    """The range and subquery windows of a query, in seconds."""
    return [duration_seconds(window) for window, _step in _RANGE.findall(promql)]


def rate_windows_seconds(rules: list[dict], extra: list[str]) -> list[float]:
    """Every range and subquery window in the rules' metricsQuery (and in `extra` queries)."""
    return [w for text in [r["metricsQuery"] for r in rules] + extra for w in range_windows(text)]


def format_duration(seconds: float) -> str:
    ms = max(1, round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def scale_windows(promql: str, speed: float) -> str:
    """Divides every range and subquery duration ([2m], [60s:10s]) by `speed` (the lab's SPEED)."""
    if speed == 1:
        return promql

    def one(m: re.Match) -> str:
        window = format_duration(duration_seconds(m.group(1)) / speed)
        if m.group(0).count(":") == 0:
            return f"[{window}]"
        step = m.group(2)
        return f"[{window}:{format_duration(duration_seconds(step) / speed) if step else ''}]"

    return _RANGE.sub(one, promql)


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
    """<<.Series>>, <<.LabelMatchers>>, <<.GroupBy>> as prometheus-adapter fills them.
    A matcher value starting with "=~" is a regex match (the adapter's pod=~"a|b" for a list)."""
    label_matchers = ",".join(
        f'{label}=~"{value[2:]}"' if value.startswith("=~") else f'{label}="{value}"'
        for label, value in matchers.items())
    out = query.replace("<<.Series>>", series).replace("<<.LabelMatchers>>", label_matchers)
    out = out.replace("<<.GroupBy>>", group_by)
    if "<<" in out:
        raise ValueError(f"template construct this test does not expand: {out}")
    return out


# ---- the scrape job a ServiceMonitor becomes ------------------------------------------------

def _target_labels(sm: dict, ns: str, svc: str, pod: str, container: str) -> dict[str, str]:
    return {
        "__meta_kubernetes_namespace": ns,
        "__meta_kubernetes_service_name": svc,
        "__meta_kubernetes_pod_name": pod,
        "__meta_kubernetes_pod_container_name": container,
        "__meta_kubernetes_endpoint_port_name": sm["spec"]["endpoints"][0]["port"],
    }


def target_groups(sm: dict, job_targets: list[tuple[str, str, str, str]], container: str) -> list[dict]:
    """Targets (address, namespace, service, pod) as Prometheus target groups, carrying the
    __meta_kubernetes_* labels endpoint discovery would give them."""
    return [{"targets": [addr], "labels": _target_labels(sm, ns, svc, pod, container)}
            for addr, ns, svc, pod in job_targets]


def write_file_sd(path: Path, sm: dict, job_targets: list[tuple[str, str, str, str]], container: str) -> None:
    """Rewrites a file_sd file atomically; Prometheus notices the change at once. One writer at a
    time (the caller serializes)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(target_groups(sm, job_targets, container)))
    tmp.replace(path)


def scrape_timing(sm: dict) -> tuple[float, float]:
    """(interval, timeout) in seconds of the ServiceMonitor's first endpoint, with the Prometheus
    Operator's defaults (30 s, 10 s) and the timeout capped at the interval."""
    ep = sm["spec"]["endpoints"][0]
    interval = duration_seconds(ep.get("interval", "30s"))
    return interval, min(duration_seconds(ep.get("scrapeTimeout", "10s")), interval)


def service_monitor_job(sm: dict, job_targets: list[tuple[str, str, str, str]], container: str,
                        interval: str = "1s", timeout: str = "900ms", file_sd: Path | None = None,
                        speed: float | None = None) -> dict:
    """A scrape job like the one the Prometheus Operator generates for the ServiceMonitor's first
    endpoint; targets: (address, namespace, service, pod) stand in for endpoint discovery, given
    statically or (file_sd) in a file that write_file_sd keeps current. With `speed`, the
    ServiceMonitor's own interval and timeout divided by it; else `interval` and `timeout`."""
    ep = sm["spec"]["endpoints"][0]
    if speed is not None:
        interval, timeout = (format_duration(t / speed) for t in scrape_timing(sm))
    job = {
        "job_name": f"serviceMonitor/{sm['metadata'].get('namespace', NAMESPACE)}/{sm['metadata']['name']}/0",
        "scrape_interval": interval,
        "scrape_timeout": timeout,
        "metrics_path": ep.get("path", "/metrics"),
    }
    if file_sd is not None:
        write_file_sd(file_sd, sm, job_targets, container)
        job["file_sd_configs"] = [{"files": [str(file_sd)], "refresh_interval": "5s"}]
    else:
        job["static_configs"] = target_groups(sm, job_targets, container)
    job["relabel_configs"] = [
        {"source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": ep["port"], "action": "keep"},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job"},
        {"target_label": "endpoint", "replacement": ep["port"]},
    ]
    return job


# ---- Prometheus itself ----------------------------------------------------------------------

class Prometheus:
    """Prometheus' HTTP API."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _get(self, path: str, params: dict) -> object:
        url = f"{self.base}{path}?" + urllib.parse.urlencode(params, doseq=True)
        status, body = http_get(url, timeout=10)
        try:
            data = json.loads(body)
        except ValueError:  # a Prometheus shutting down or starting answers in plain text
            raise RuntimeError(f"{path} answered {status} without JSON: {body[:120]!r}") from None
        if status != 200 or data.get("status") != "success":
            raise RuntimeError(f"{path} failed ({status}): {params}: {data.get('error', body[:200])}")
        return data["data"]

    def query(self, promql: str) -> list[dict]:
        return self._get("/api/v1/query", {"query": promql})["result"]

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[dict]:
        """GET /api/v1/query_range: [{metric, values: [[unix seconds, "value"], ...]}, ...]."""
        return self._get("/api/v1/query_range", {"query": promql, "start": start, "end": end,
                                                 "step": format_duration(step)})["result"]

    def series(self, match: str, lookback: float = 300) -> list[dict]:
        return self._get("/api/v1/series", {"match[]": match, "start": time.time() - lookback})


def start_prometheus(procs: Processes, workdir: Path, config: dict, binary: str = "prometheus",
                     timeout: float = 60, extra_args: list[str] | None = None) -> Prometheus:
    """Writes the config, starts Prometheus on a free loopback port with its data in workdir
    (with `extra_args`, such as a feature flag), and waits until it is ready."""
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    data = str(workdir / "data")

    def ready(port: int) -> bool:
        # Ready, and this Prometheus (its own data directory), not another one on the port.
        if http_get(f"http://127.0.0.1:{port}/-/ready", 1)[0] != 200:
            return False
        status, body = http_get(f"http://127.0.0.1:{port}/api/v1/status/flags", 1)
        try:
            return status == 200 and json.loads(body)["data"].get("storage.tsdb.path") == data
        except (ValueError, KeyError, TypeError):
            return False

    _, port = start_listening(
        procs, "prometheus",
        lambda port: [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
                      f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"] + (extra_args or []),
        workdir / "prometheus.log", ready, timeout)
    return Prometheus(f"http://127.0.0.1:{port}")


# ---- the Prometheus Adapter ------------------------------------------------------------------

class AdapterError(Exception):
    pass


class Adapter:
    """custom.metrics.k8s.io as prometheus-adapter serves it from its rules, over a Prometheus.

    Range windows in the queries are divided by `speed` (the lab's SPEED); values come back as
    milli-quantities (int64(value * 1000)). Each answer also carries the query that produced it.
    """

    def __init__(self, prom: Prometheus, rules: list[dict], speed: float = 1.0) -> None:
        self.prom = prom
        self.rules = rules
        self.speed = speed

    def discover(self) -> dict[str, tuple[dict, str]]:
        """custom metric name -> (rule, series name), from the series each seriesQuery finds."""
        names: dict[str, tuple[dict, str]] = {}
        for rule in self.rules:
            for sn in sorted({s["__name__"] for s in self.prom.series(rule["seriesQuery"])}):
                derived = derived_name(rule, sn)
                if derived:
                    names.setdefault(derived, (rule, sn))
        return names

    def _find(self, metric: str) -> tuple[dict, str]:
        found = self.discover().get(metric)
        if not found:
            raise AdapterError(f'the server could not find the metric {metric} for pods (no series of any rule)')
        return found

    def query_values(self, promql: str, label: str) -> dict[str, int | None]:
        return {r["metric"].get(label, ""): quantity.from_float(float(r["value"][1])) for r in self.prom.query(promql)}

    def pods_metric(self, metric: str, namespace: str, pods: list[str]) -> tuple[dict[str, int | None], str]:
        """GET .../namespaces/<ns>/pods/*/<metric>?labelSelector=...: one value per pod that has
        one (the adapter lists the selector's pods and matches them with pod=~"a|b")."""
        rule, series = self._find(metric)
        labels = resource_labels(rule)
        if "pod" not in labels:
            raise AdapterError(f"rule for {metric} has no pod resource")
        q = expand(rule["metricsQuery"], series,
                   {labels["namespace"]: namespace, labels["pod"]: "=~" + "|".join(sorted(pods))}, labels["pod"])
        q = scale_windows(q, self.speed)
        return self.query_values(q, labels["pod"]), q

    def object_metric(self, metric: str, namespace: str, kind: str, name: str) -> tuple[int | None, str]:
        """GET .../namespaces/<ns>/<resource>/<name>/<metric>."""
        rule, series = self._find(metric)
        labels = resource_labels(rule)
        resource = kind.lower()
        if resource not in labels:
            raise AdapterError(f"rule for {metric} has no {resource} resource")
        q = expand(rule["metricsQuery"], series, {labels["namespace"]: namespace, labels[resource]: name},
                   labels[resource])
        q = scale_windows(q, self.speed)
        values = self.query_values(q, labels[resource])
        if name not in values:
            raise AdapterError(f"the server could not find the metric {metric} for {resource} {name}")
        return values[name], q


def scalar_query(prom: Prometheus, promql: str, speed: float = 1.0) -> tuple[list[int | None], str]:
    """A query whose every result is one value (KEDA's prometheus trigger): milli-quantities."""
    q = scale_windows(promql, speed)
    return [quantity.from_float(float(r["value"][1])) for r in prom.query(q)], q
