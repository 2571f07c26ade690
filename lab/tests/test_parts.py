"""The lab's parts on their own: the adapter's query expansion under SPEED, the HPA KEDA makes,
the pod template from the kustomized Deployment, the ReplicaSet's scale-down order, and the
kube-state-metrics endpoint read by the Prometheus client's parser."""
from __future__ import annotations

import os
import socket
import sys

from prometheus_client.parser import text_string_to_metric_families

from lab.controller import HorizontalController, MetricsError, Pod, PodMetric, apply_defaults
from lab import prometheus
from lab.kong import KongOperatorMetrics
from lab.ksm import KubeStateMetrics
from lab.pods import PodTemplate, _delete_rank
from lab.prometheus import ROOT, adapter_rules, expand, load_yaml, resource_labels, scale_windows
from lab.scenarios import find, hpa_from_scaled_object, kustomize, load_manifests, load_scenario

KUBECTL = os.environ.get("LAB_KUBECTL", str(ROOT / ".venv/bin/kubectl"))


def test_scale_windows():
    assert scale_windows("sum(rate(x[2m])) by (pod)", 6) == "sum(rate(x[20s])) by (pod)"
    assert scale_windows("rate(k[60s:10s])", 4) == "rate(k[15s:2500ms])"
    assert scale_windows("rate(x[1m30s])", 1) == "rate(x[1m30s])"
    assert scale_windows("rate(x[1m30s])", 3) == "rate(x[30s])"


def test_pods_query_as_the_adapter_builds_it():
    rule = adapter_rules()[0]
    labels = resource_labels(rule)
    q = expand(rule["metricsQuery"], "http_requests_total",
               {labels["namespace"]: "demo-ns", labels["pod"]: "=~a|b"}, labels["pod"])
    assert q == 'sum(rate(http_requests_total{namespace="demo-ns",pod=~"a|b"}[2m])) by (pod)'


def test_hpa_keda_creates():
    so = load_yaml("overlays/keda/scaledobject.yaml")
    hpa = apply_defaults(hpa_from_scaled_object(so))
    spec = hpa["spec"]
    assert hpa["metadata"]["name"] == "metrics-app" and (spec["minReplicas"], spec["maxReplicas"]) == (1, 10)
    (m,) = spec["metrics"]
    assert m["type"] == "External" and m["external"]["metric"]["name"] == "s0-prometheus"
    assert m["external"]["target"] == {"type": "AverageValue", "averageValue": "5"}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_pod_template_from_the_kustomized_deployment():
    t = PodTemplate.from_deployment(find(kustomize("deploy/overlays/latency", KUBECTL), "Deployment"))
    assert t.env["METRICS_APP_MAX_CONCURRENCY"] == "4" and t.env["METRICS_APP_SHUTDOWN_TIMEOUT"] == "25"
    assert (t.readiness.path, t.readiness.period, t.readiness.failure_threshold) == ("/readyz", 5, 1)
    assert (t.startup.path, t.pre_stop_sleep, t.termination_grace) == ("/healthz", 5.0, 40.0)
    assert t.requests == {"cpu": 100, "memory": 32 * 2**20 * 1000}


class _Stub:
    def __init__(self, name, phase, ready, ready_since, created):
        self.name = name
        self._s = {"phase": phase, "ready": ready, "ready_since": ready_since, "created": created}

    def state(self):
        return self._s


def test_replicaset_deletes_pending_then_unready_then_newest_ready():
    pods = [_Stub("old-ready", "Running", True, 10, 0), _Stub("new-ready", "Running", True, 50, 40),
            _Stub("unready", "Running", False, None, 5), _Stub("pending", "Pending", False, None, 60)]
    assert [p.name for p in sorted(pods, key=_delete_rank)] == ["pending", "unready", "new-ready", "old-ready"]


def test_kube_state_metrics_endpoint():
    hpa = apply_defaults(load_yaml("hpa.yaml"))
    ksm = KubeStateMetrics(hpa)
    try:
        ksm.update(3, 4, [6.5], {"AbleToScale": ("True", "SucceededRescale", "")})
        families = {f.name: f for f in text_string_to_metric_families(ksm.render())}
    finally:
        ksm.stop()
    value = {name: [(s.labels, s.value) for s in f.samples] for name, f in families.items()}
    base = {"namespace": "demo-ns", "horizontalpodautoscaler": "metrics-app"}
    assert value["kube_horizontalpodautoscaler_status_current_replicas"] == [(base, 3)]
    assert value["kube_horizontalpodautoscaler_status_desired_replicas"] == [(base, 4)]
    assert value["kube_horizontalpodautoscaler_spec_max_replicas"] == [(base, 10)]
    assert value["kube_horizontalpodautoscaler_spec_target_metric"] == [
        ({**base, "metric_name": "http_requests_per_second", "metric_target_type": "average"}, 5)]
    assert ({**base, "condition": "AbleToScale", "status": "true"}, 1) in value["kube_horizontalpodautoscaler_status_condition"]


class _Metrics:
    """The custom metrics API as the controller reads it: fixed per-pod values, or a failure."""

    def __init__(self, values: dict[str, int] | None) -> None:
        self.values = values

    def get_raw_metric(self, name, pods, selector):
        if self.values is None:
            raise MetricsError(f"unable to get metric {name}: no metrics returned from custom metrics API")
        return {p: PodMetric(v) for p, v in self.values.items()}


def _conditions(ksm: KubeStateMetrics) -> dict[tuple[str, str], float]:
    (family,) = [f for f in text_string_to_metric_families(ksm.render())
                 if f.name == "kube_horizontalpodautoscaler_status_condition"]
    assert family.type == "gauge"
    out = {}
    for s in family.samples:
        assert set(s.labels) == {"namespace", "horizontalpodautoscaler", "condition", "status"}, s.labels
        assert (s.labels["namespace"], s.labels["horizontalpodautoscaler"]) == ("demo-ns", "metrics-app")
        out[(s.labels["condition"], s.labels["status"])] = s.value
    return out


def test_kube_state_metrics_conditions_from_the_controller():
    """kube_horizontalpodautoscaler_status_condition as kube-state-metrics writes it: for each
    condition the controller set, one series per status true/false/unknown, 1 on the current
    one and 0 on the others; fed from the lab controller's own sync."""
    hpa = apply_defaults(load_yaml("hpa.yaml"))
    ksm = KubeStateMetrics(hpa)
    try:
        assert _conditions(ksm) == {}  # no sync yet: no conditions, no series (as for a new HPA)
        hc = HorizontalController()
        pods = [Pod(f"p{i}") for i in range(3)]
        failed = hc.reconcile(hpa, 3, 3, pods, _Metrics(None), 0.0)  # the adapter answers nothing
        ksm.update(3, 3, [None], failed.conditions)
        assert _conditions(ksm) == {
            ("AbleToScale", "true"): 1, ("AbleToScale", "false"): 0, ("AbleToScale", "unknown"): 0,
            ("ScalingActive", "true"): 0, ("ScalingActive", "false"): 1, ("ScalingActive", "unknown"): 0}
        # 100 req/s per pod against a target of 5: clamped at maxReplicas (ScalingLimited true)
        maxed = hc.reconcile(hpa, 10, 10, [Pod(f"p{i}") for i in range(10)],
                             _Metrics({f"p{i}": 100_000 for i in range(10)}), 60.0)
        assert maxed.conditions["ScalingLimited"][:2] == ("True", "TooManyReplicas")
        ksm.update(10, 10, [100.0], maxed.conditions)
        got = _conditions(ksm)
        assert len(got) == 9
        assert {k for k, v in got.items() if v == 1} == {
            ("AbleToScale", "true"), ("ScalingActive", "true"), ("ScalingLimited", "true")}
    finally:
        ksm.stop()


def test_free_port_never_hands_out_a_port_twice():
    ports = [prometheus.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)


def test_start_listening_moves_off_a_port_another_process_holds(tmp_path, monkeypatch):
    """A server that loses its port exits; start_listening starts it again on another port
    instead of taking the port holder's answers for its own."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    offered = iter([taken])
    real_free_port = prometheus.free_port
    monkeypatch.setattr(prometheus, "free_port", lambda: next(offered, None) or real_free_port())
    procs = prometheus.Processes()
    try:
        proc, port = prometheus.start_listening(
            procs, "http.server", lambda p: [sys.executable, "-m", "http.server", str(p), "--bind", "127.0.0.1"],
            tmp_path / "server.log", lambda p: prometheus.http_get(f"http://127.0.0.1:{p}/", 1)[0] == 200)
        assert port != taken and proc.poll() is None
        assert [name for name, _ in procs.procs] == ["http.server"]  # the failed attempt is forgotten
    finally:
        procs.stop_all()
        holder.close()


def test_kong_route_gets_kong_operators_metrics_and_its_service_monitor():
    """deploy/overlays/kong: the app's ServiceMonitor and Kong Operator's are told apart; the
    stand-in's histogram parses, each latency lands in its `le` bucket, and the adapter's kong
    rule reads its sum and count under the labels the kong-operator scrape job gives them."""
    manifests = load_manifests(load_scenario("kong"), KUBECTL)
    assert manifests.service_monitor["metadata"]["namespace"] == "demo-ns"
    assert manifests.kong_monitor["metadata"]["namespace"] == "kong-system"
    assert load_manifests(load_scenario("default"), KUBECTL).kong_monitor is None
    # its scrape job runs at the ServiceMonitor's 15 s interval (10 s timeout) divided by SPEED
    job = prometheus.service_monitor_job(manifests.kong_monitor, [("127.0.0.1:1", "kong-system", "s", "p")],
                                         "manager", speed=5)
    assert (job["scrape_interval"], job["scrape_timeout"]) == ("3s", "2s")
    kong = KongOperatorMetrics("metrics-app", "demo-ns")
    try:
        for ms in (100, 100.5, 250, 70000):
            kong.observe(ms)
        (family,) = text_string_to_metric_families(prometheus.http_get(f"http://127.0.0.1:{kong.port}/metrics")[1].decode())
        values = {(s.name, s.labels.get("le")): s.value for s in family.samples}
        assert values[("kong_upstream_latency_ms_bucket", "100")] == 1
        assert values[("kong_upstream_latency_ms_bucket", "200")] == 2
        assert values[("kong_upstream_latency_ms_bucket", "60000")] == 3
        assert values[("kong_upstream_latency_ms_bucket", "+Inf")] == values[("kong_upstream_latency_ms_count", None)] == 4
        assert values[("kong_upstream_latency_ms_sum", None)] == 70450.5
        assert {s.labels["service"] for s in family.samples} == {"metrics-app"}
    finally:
        kong.stop()
    kong_rules = [r for r in adapter_rules() if "kong_upstream_latency_ms" in r["seriesQuery"]]
    assert [r["name"]["as"] for r in kong_rules] == ["kong_upstream_latency_ms_60s_average",
                                                     "kong_upstream_requests_per_second"]
    assert all(set(r["resources"]["overrides"]) == {"exported_namespace", "exported_service"} for r in kong_rules)
