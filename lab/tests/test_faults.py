"""The fault machinery on real parts: the kubelet's CrashLoopBackOff sequence, the load
generator's failure causes against real sockets, a real Prometheus stopped and started again
on its data directory (the TSDB keeps its samples), the adapter rule broken by a relabelling,
and the scenario's `faults:` list checked."""
from __future__ import annotations

import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lab.controller import MetricsError
from lab.faults import PrometheusProcess, parse_faults, relabelled_rules, FaultError
from lab.kubelet import CrashLoopBackOff
from lab.load import LoadGenerator
from lab.prometheus import (
    Adapter, MetricsEndpoint, Processes, adapter_rules, free_port, require_tool, start_prometheus, wait_until,
)


# ---- the kubelet -----------------------------------------------------------------------------

def restart_delays(exits: list[float], runs: float = 1.0) -> list[float]:
    """The delay before each restart for a container that exits `runs` seconds after each start."""
    b, t, delays = CrashLoopBackOff(), 0.0, []
    for _ in exits:
        t += runs
        d = b.delay(t)
        delays.append(d)
        b.restarted(t, t + d)
        t += d
    return delays


def test_crash_loop_backoff_doubles_from_10_to_300_seconds():
    """doBackOff: the first exit restarts at once; then 10, 20, 40 ... capped at 300 s."""
    assert restart_delays([0] * 9) == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_crash_loop_backoff_starts_over_after_ten_minutes_running():
    b = CrashLoopBackOff()
    for t in (1, 2, 13, 34):  # four quick exits: 0, 10, 20 -> the next waits 40
        b.restarted(t, t + b.delay(t))
    assert b.delay(100) == 80
    assert b.delay(100 + 601) == 0  # ran more than 2 x 300 s since its last restart: no wait
    b.restarted(701, 701)
    assert b.delay(702) == 10


# ---- failed requests by cause ----------------------------------------------------------------

class _Server:
    """A loopback server whose handler does `mode`: 503, close without answering, or hang."""

    def __init__(self, mode: str) -> None:
        hang = threading.Event()
        self.hang = hang

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if mode == "503":
                    self.send_response(503)
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"draining\n")
                elif mode == "close":
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    hang.wait(5)

            def log_message(self, *_args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.hang.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(endpoints, n=5, timeout=5.0) -> LoadGenerator:
    load = LoadGenerator(lambda: endpoints, 50.0, timeout=timeout).start()
    wait_until("the requests", lambda: load.counts()["sent"] >= n, 10, 0.01)
    load.set_rate(0)
    load.stop()
    return load


@pytest.mark.parametrize("mode, cause", [("refused", "connection refused"), ("503", "503 while draining"),
                                         ("close", "connection reset"), ("hang", "timeout")])
def test_load_counts_failures_by_cause(mode, cause):
    server = None if mode == "refused" else _Server(mode)
    url = server.url if server else f"http://127.0.0.1:{free_port()}"
    try:
        load = _send([("pod-a", url)], timeout=0.3 if mode == "hang" else 5.0)
    finally:
        if server:
            server.close()
    counts = load.counts()
    assert counts["failed"] == counts["sent"] > 0
    assert counts["by_cause"] == {cause: counts["sent"]}
    t, c, pod = load.failures_since(0)[0]
    assert (c, pod) == (cause, "pod-a") and t > 0


def test_load_counts_no_endpoint():
    load = _send([])
    assert load.counts()["by_cause"] == {"no ready endpoint": load.counts()["sent"]}


# ---- Prometheus stopped and started again; the adapter's rule relabelled ---------------------

@pytest.fixture(scope="module")
def prometheus():
    if problem := require_tool("prometheus", "apt-get install prometheus (make deps-lab installs it)"):
        pytest.fail(problem)
    work = Path(tempfile.mkdtemp(prefix="lab-test-faults-"))
    procs = Processes()
    requests = {"n": 0}

    def render() -> str:
        requests["n"] += 7
        return ("# TYPE http_requests_total counter\n"
                f'http_requests_total{{namespace="demo-ns",pod="pod-a",service="metrics-app"}} {requests["n"]}\n')

    endpoint = MetricsEndpoint(render, "pod-a")
    config = {"global": {"scrape_interval": "200ms", "evaluation_interval": "1s"},
              "scrape_configs": [{"job_name": "metrics-app", "honor_labels": True, "scrape_interval": "200ms",
                                  "static_configs": [{"targets": [f"127.0.0.1:{endpoint.port}"]}]}]}
    prom = start_prometheus(procs, work, config)
    wait_until("samples", lambda: prom.query('count_over_time(http_requests_total[1m]) > 5'), 30)
    yield prom, procs, work
    endpoint.stop()
    procs.stop_all()


def test_prometheus_restart_keeps_its_tsdb(prometheus):
    """prometheus_down: SIGTERM, then the same command line on the same data directory: samples
    scraped before the stop are still there after it (the head block comes back from the WAL)."""
    prom, procs, work = prometheus
    # A second back: a scrape under way now may be committed after the first query, which would
    # then read an older sample than the query after the restart.
    before = time.time() - 1
    q = f'http_requests_total{{pod="pod-a"}} @ {before:.3f}'
    value = prom.query(q)[0]["value"][1]
    control = PrometheusProcess(procs, prom, work)
    argv = control.stop()
    with pytest.raises(OSError):
        prom.query("up")
    assert f"--storage.tsdb.path={work / 'data'}" in argv
    control.start(argv)
    assert prom.query(q)[0]["value"][1] == value
    assert prom.query(f'count_over_time(http_requests_total[10m] @ {before:.3f})')[0]["value"][1] != "0"


def test_adapter_empty_rule_returns_no_series_for_the_pods(prometheus):
    """adapter_empty: the rule reads pods from a label the series lack -> the query returns
    nothing, the lab's custom metrics API answers "no metrics returned"."""
    from lab.run import LabMetrics
    from lab.scenarios import Manifests
    from lab.controller import Pod

    prom = prometheus[0]
    adapter = Adapter(prom, adapter_rules())
    wait_until("a rate", lambda: adapter.pods_metric("http_requests_per_second", "demo-ns", ["pod-a"])[0], 30)
    manifests = Manifests({}, {}, {"metadata": {"namespace": "demo-ns"}, "spec": {}}, None, "test")
    client = LabMetrics(adapter, manifests, None, time.monotonic, 1.0)
    assert client.get_raw_metric("http_requests_per_second", [Pod("pod-a")], None)["pod-a"].value > 0
    adapter.rules = relabelled_rules(adapter_rules())
    with pytest.raises(MetricsError, match="no metrics returned from custom metrics API"):
        client.get_raw_metric("http_requests_per_second", [Pod("pod-a")], None)
    assert "kubernetes_pod_name=~" in client.calls[-1]["query"]


# ---- the scenario's faults: list -------------------------------------------------------------

@pytest.mark.parametrize("item, message", [
    ({"type": "meteor_strike", "at": 1}, "type must be one of"),
    ({"type": "prometheus_down", "at": 10}, "needs `seconds`"),
    ({"type": "pod_crash"}, "`at`"),
    ({"type": "pod_crash", "at": 5, "times": 0}, "`times`"),
    ({"type": "pod_crash", "at": 5, "pod": "x"}, "unknown keys"),
])
def test_faults_list_errors_name_the_entry(item, message):
    with pytest.raises(FaultError, match=message) as e:
        parse_faults([item], "s.yaml")
    assert "s.yaml: faults[0]" in str(e.value)
