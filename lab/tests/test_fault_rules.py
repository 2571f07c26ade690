"""The controller's rules for what the lab's faults do to its inputs (lab/faults.py), one test per
rule, named after the upstream test it comes from (kubernetes pkg/controller/podautoscaler
horizontal_test.go, replica_calculator_test.go) where one exists, else after the rule and the
upstream code it reads (horizontal.go, replica_calculator.go).

  prometheus_down, adapter_empty -> the metrics call fails or returns nothing: the scale stays,
      ScalingActive False (TestConditionFailedGetMetrics, TestScaleUpBothMetricsEmpty); a
      scale-up still goes ahead when another metric asks for it (TestScaleUpOneMetricInvalid);
      a failed sync records no recommendation, so the scale-down window still holds after it.
  pod_crash, slow_start -> a Running pod without a metric: 0 on a scale-up, the target on a
      scale-down; a Pods metric keeps unready pods that report (only cpu leaves them out).
"""
from __future__ import annotations

import pytest

from lab.controller import HorizontalController, MetricsError, Pod, PodMetric, Tolerances, apply_defaults
from lab.prometheus import Adapter, Prometheus, adapter_rules, free_port

NOW = 1_000_000.0
TOL = Tolerances(0.1, 0.1)


class FailingMetrics:
    """Every metrics API answers with an error (Prometheus down behind the adapter)."""

    def __init__(self, pods: dict[str, int] | None = None) -> None:
        self.pods = pods

    def get_raw_metric(self, name, pods, selector):
        if self.pods:
            return {k: PodMetric(v) for k, v in self.pods.items()}
        raise MetricsError(f"unable to get metric {name}: no metrics returned from custom metrics API")

    def get_object_metric(self, name, described_object, selector):
        raise MetricsError(f"unable to get metric {name}: connection refused")

    def get_external_metric(self, name, selector):
        raise MetricsError(f"unable to get external metric {name}: connection refused")

    def get_resource_metric(self, resource, pods, container=""):
        raise MetricsError(f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API")


def pods(n: int, ready=None, phase=None) -> list[Pod]:
    return [Pod(f"test-pod-{i}", phase=(phase or ["Running"] * n)[i], ready=(ready or [True] * n)[i],
                requests={"cpu": 200}) for i in range(n)]


QPS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "15"}}}
FAILED_GET = {
    "FailedGetResourceMetric": None,  # upstream: no metrics given, the CPU default (its CPUTarget 10)
    "FailedGetPodsMetric": [QPS],
    "FailedGetObjectMetric": [{"type": "Object", "object": {
        "describedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "some-deployment"},
        "metric": {"name": "qps"}, "target": {"type": "Value", "value": "15"}}}],
    "FailedGetExternalMetric": [{"type": "External", "external": {
        "metric": {"name": "qps", "selector": {}}, "target": {"type": "Value", "value": "300m"}}}],
}


def hpa(metrics, lo=1, hi=100):
    spec = {"minReplicas": lo, "maxReplicas": hi}
    if metrics is not None:
        spec["metrics"] = metrics
    else:
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 10}}}]
    return apply_defaults({"spec": spec})


@pytest.mark.parametrize("reason", sorted(FAILED_GET), ids=lambda r: f"TestConditionFailedGetMetrics/{r}")
def test_condition_failed_get_metrics(reason):
    """prometheus_down / adapter_empty: the metrics call fails -> the scale stays at 3,
    AbleToScale True SucceededGetScale, ScalingActive False with the metric type's reason."""
    r = HorizontalController().reconcile(hpa(FAILED_GET[reason]), 3, 3, pods(3), FailingMetrics(), NOW)
    assert (r.desired_replicas, r.rescale) == (3, False)
    assert r.conditions["AbleToScale"][:2] == ("True", "SucceededGetScale")
    assert r.conditions["ScalingActive"][:2] == ("False", reason)


def test_scale_up_both_metrics_empty():
    """TestScaleUpBothMetricsEmpty: no metric can be computed -> 3 stays 3, ScalingActive False."""
    r = HorizontalController().reconcile(hpa([{"type": "CheddarCheese"}], 2, 6), 3, 3, pods(3), FailingMetrics(), NOW)
    assert (r.desired_replicas, r.rescale) == (3, False)
    assert r.conditions["ScalingActive"][:2] == ("False", "InvalidMetricSourceType")


def test_scale_up_one_metric_invalid():
    """TestScaleUpOneMetricInvalid (upstream's valid metric is CPU, here the Pods metric the
    lab ships): one metric fails, the other asks for more pods -> the scale-up goes ahead."""
    spec = hpa([QPS, {"type": "CheddarCheese"}], 2, 6)
    metrics = FailingMetrics({f"test-pod-{i}": 20000 for i in range(3)})  # 20 per pod, target 15
    r = HorizontalController().reconcile(spec, 3, 3, pods(3), metrics, NOW)
    assert (r.recommendation, r.desired_replicas) == (4, 4)
    assert r.conditions["ScalingActive"][:2] == ("True", "ValidMetricFound")


def test_one_metric_invalid_blocks_a_scale_down():
    """computeReplicasForMetrics: "if all metrics are invalid or some are invalid and we would
    scale down, return an error" (no upstream test of its own): 5 pods at a third of the target
    with a second metric failing stay at 5."""
    spec = hpa([QPS, {"type": "CheddarCheese"}], 1, 10)
    r = HorizontalController().reconcile(spec, 5, 5, pods(5), FailingMetrics({f"test-pod-{i}": 5000 for i in range(5)}), NOW)
    assert (r.desired_replicas, r.rescale) == (5, False)
    assert r.conditions["ScalingActive"][:2] == ("False", "InvalidMetricSourceType")


def test_failed_syncs_record_no_recommendation_so_the_downscale_window_still_holds():
    """reconcileAutoscaler returns before it stores a recommendation when the metrics fail:
    after an outage, a low metric scales down only once the window has passed since the last
    good recommendation (the legacy path's 300 s here), not at once."""
    spec = hpa([QPS], 1, 10)
    hc = HorizontalController()
    four = {f"test-pod-{i}": 15000 for i in range(4)}
    assert hc.reconcile(spec, 4, 4, pods(4), FailingMetrics(four), NOW).desired_replicas == 4
    for t in range(15, 120, 15):  # the outage: every sync fails
        assert hc.reconcile(spec, 4, 4, pods(4), FailingMetrics(), NOW + t).desired_replicas == 4
    low = {f"test-pod-{i}": 1000 for i in range(4)}
    r = hc.reconcile(spec, 4, 4, pods(4), FailingMetrics(low), NOW + 120)
    assert (r.recommendation, r.desired_replicas) == (1, 4)  # held by the recommendation from before
    assert hc.reconcile(spec, 4, 4, pods(4), FailingMetrics(low), NOW + 301).desired_replicas == 1


def test_crashed_pod_without_metric_counts_as_zero_on_a_scale_up():
    """calcPlainMetricReplicas (cpu's counterpart upstream: TestReplicaCalcMissingMetricsUnreadyScaleUp):
    3 reporting pods at 21 (target 15) and the crashed, restarting pod without a metric: it
    counts as 0, so 63/4 = 15.75 is within tolerance and 4 stay 4, where the 3 alone would ask
    for ceil(1.4 x 3) = 5."""
    ps = pods(4, ready=[True, True, True, False])
    metrics = {f"test-pod-{i}": PodMetric(21000) for i in range(3)}
    p = HorizontalController().replica_calc.get_metric_replicas(4, 15000, TOL, ps, metrics, NOW)
    assert p.replicas == 4 and p.detail["missing"] == ["test-pod-3"]


def test_crashed_pod_without_metric_counts_as_the_target_on_a_scale_down():
    """calcPlainMetricReplicas (cpu's counterpart: TestReplicaCalcMissingMetricsUnreadyScaleDown):
    3 pods at 5 (target 15) and one without a metric, taken at the target: (5+5+5+15)/4/15
    = 0.5 -> 2 pods, where leaving it out would give 1."""
    ps = pods(4, ready=[True, True, True, False])
    metrics = {f"test-pod-{i}": PodMetric(5000) for i in range(3)}
    p = HorizontalController().replica_calc.get_metric_replicas(4, 15000, TOL, ps, metrics, NOW)
    assert p.replicas == 2


def test_unready_pod_with_a_pods_metric_counts_as_ready():
    """groupPods leaves unready pods out for cpu only (TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale):
    a restarted pod that is not ready yet but reports 10 req/s counts with the others:
    (3 x 20 + 10)/4 = 17.5 -> ceil(1.167 x 4) = 5; left out and taken as 0 (cpu's rule) it
    would be 60/4 = 15, within tolerance, 4."""
    ps = pods(4, ready=[True, True, True, False])
    metrics = {**{f"test-pod-{i}": PodMetric(20000) for i in range(3)}, "test-pod-3": PodMetric(10000)}
    p = HorizontalController().replica_calc.get_metric_replicas(4, 15000, TOL, ps, metrics, NOW)
    assert (p.replicas, p.usage) == (5, 17500)
    assert p.detail["unready"] == [] and p.detail["ready"] == 4


def test_lab_turns_an_unreachable_prometheus_into_a_failed_metrics_call():
    """The lab side of prometheus_down: the adapter cannot reach Prometheus -> MetricsError (the
    HPA's FailedGetPodsMetric), not an exception that ends the run."""
    from lab.run import LabMetrics
    from lab.scenarios import Manifests

    manifests = Manifests({}, {}, {"metadata": {"namespace": "demo-ns"}, "spec": {}}, None, "test")
    client = LabMetrics(Adapter(Prometheus(f"http://127.0.0.1:{free_port()}"), adapter_rules()), manifests,
                        None, lambda: NOW, 1.0)
    with pytest.raises(MetricsError, match="unable to get metric http_requests_per_second"):
        client.get_raw_metric("http_requests_per_second", pods(1), None)
    assert "error" in client.calls[-1]
