"""The HPA controller against the numbers of the upstream controller's own test tables.

Every case names the upstream test it was taken from (kubernetes pkg/controller/podautoscaler
replica_calculator_test.go and horizontal_test.go, pkg/apis/autoscaling/v2/defaults_test.go).
The pods are built the way upstream's test harness builds them: test-pod-<i>, two containers
each requesting the listed CPU, the resource metric reported per container (so a pod's value is
twice the level), metric timestamps at Go's zero time, readiness transitions never set; "hot"
pods started now (inside the CPU initialization period), "cool" ones three minutes ago.
"""
from __future__ import annotations

import pytest

from lab import quantity
from lab.controller import (
    ZERO_TIME, HorizontalController, MetricsError, NormalizationArg, Pod, PodMetric, Recommendation,
    ReplicaCalculator, ScaleEvent, Tolerances, apply_defaults, calculate_scale_down_limit_with_behaviors,
    calculate_scale_up_limit, calculate_scale_up_limit_with_scaling_rules, convert_desired_replicas_with_rules,
    generate_scale_down_rules, generate_scale_up_rules, get_replicas_change_per_period,
)

NOW = 1_000_000.0
CONTAINERS = 2
T, F = True, False
HOT, COOL = "hot", "cool"


def make_pods(n, readiness=None, start=None, phase=None, deleted=None, requests=None):
    count = max(n, len(phase or []))
    pods = []
    for i in range(count):
        s = (start or [None] * count)[i]
        pod = Pod(
            name=f"test-pod-{i}",
            phase=(phase or ["Running"] * count)[i],
            ready=(readiness[i] if readiness and i < len(readiness) else True),
            start_time={HOT: NOW, COOL: NOW - 180, None: ZERO_TIME}[s],
            deleted=bool(deleted and deleted[i]),
        )
        if requests and i < len(requests):
            pod.requests["cpu"] = CONTAINERS * quantity.milli(requests[i])
        pods.append(pod)
    return pods


def resource_metrics(levels, names=None):
    return {(names[i] if names and i < len(names) else f"test-pod-{i}"):
            PodMetric(CONTAINERS * level, ZERO_TIME, 60.0) for i, level in enumerate(levels)}


def calc():
    # defaultTestingCPUInitializationPeriod (2 min), defaultTestingDelayOfInitialReadinessStatus (10 s)
    return ReplicaCalculator(120.0, 10.0)


TOL = Tolerances(0.1, 0.1)

# (upstream test, currentReplicas, expectedReplicas, pod options, requests, levels, target, utilization, raw value)
RESOURCE_CASES = [
    ("TestReplicaCalcScaleUp", 3, 5, {}, ["1.0"] * 3, [300, 500, 700], 30, 50, CONTAINERS * 500),
    ("TestReplicaCalcScaleUpUnreadyLessScale", 3, 4, {"readiness": [F, T, T]}, ["1.0"] * 3, [300, 500, 700], 30, 60,
     CONTAINERS * 600),
    ("TestReplicaCalcScaleUpHotCpuLessScale", 3, 4, {"start": [HOT, COOL, COOL]}, ["1.0"] * 3, [300, 500, 700], 30, 60,
     CONTAINERS * 600),
    ("TestReplicaCalcScaleUpUnreadyNoScale", 3, 3, {"readiness": [T, F, F]}, ["1.0"] * 3, [400, 500, 700], 30, 40,
     CONTAINERS * 400),
    ("TestReplicaCalcScaleHotCpuNoScale", 3, 3, {"readiness": [T, F, F], "start": [COOL, HOT, HOT]}, ["1.0"] * 3,
     [400, 500, 700], 30, 40, CONTAINERS * 400),
    ("TestReplicaCalcScaleUpIgnoresFailedPods", 2, 4,
     {"readiness": [T, T, F, F], "phase": ["Running", "Running", "Failed", "Failed"]}, ["1.0"] * 4, [500, 700], 30, 60,
     CONTAINERS * 600),
    ("TestReplicaCalcScaleUpIgnoresDeletionPods", 2, 4,
     {"readiness": [T, T, F, F], "phase": ["Running"] * 4, "deleted": [F, F, T, T]}, ["1.0"] * 4, [500, 700], 30, 60,
     CONTAINERS * 600),
    ("TestReplicaCalcScaleDown", 5, 3, {}, ["1.0"] * 5, [100, 300, 500, 250, 250], 50, 28, CONTAINERS * 280),
    ("TestReplicaCalcScaleDownIncludeUnreadyPods", 5, 2, {"readiness": [T, T, T, F, F]}, ["1.0"] * 5,
     [100, 300, 500, 250, 250], 50, 30, CONTAINERS * 300),
    ("TestReplicaCalcScaleDownExcludeUnscheduledPods", 5, 1,
     {"readiness": [T, F, F, F, F], "phase": ["Running"] + ["Pending"] * 4}, ["1.0"] * 5, [100], 50, 10,
     CONTAINERS * 100),
    ("TestReplicaCalcScaleDownIgnoreHotCpuPods", 5, 2, {"start": [COOL, COOL, COOL, HOT, HOT]}, ["1.0"] * 5,
     [100, 300, 500, 250, 250], 50, 30, CONTAINERS * 300),
    ("TestReplicaCalcScaleDownIgnoresFailedPods", 5, 3,
     {"readiness": [T] * 5 + [F, F], "phase": ["Running"] * 5 + ["Failed"] * 2}, ["1.0"] * 7,
     [100, 300, 500, 250, 250], 50, 28, CONTAINERS * 280),
    ("TestReplicaCalcScaleDownIgnoresDeletionPods", 5, 3,
     {"readiness": [T] * 5 + [F, F], "phase": ["Running"] * 7, "deleted": [F] * 5 + [T, T]}, ["1.0"] * 7,
     [100, 300, 500, 250, 250], 50, 28, CONTAINERS * 280),
    ("TestReplicaCalcTolerance", 3, 3, {}, ["0.9", "1.0", "1.1"], [1010, 1030, 1020], 100, 102, CONTAINERS * 1020),
    ("TestReplicaCalcSuperfluousMetrics", 4, 24, {}, ["1.0"] * 4, [4000, 9500, 3000, 7000, 3200, 2000], 100, 587,
     CONTAINERS * 5875),
    ("TestReplicaCalcMissingMetrics", 4, 3, {}, ["1.0"] * 4, [400, 95], 100, 24, 495),
    ("TestReplicaCalcMissingMetricsNoChangeEq", 2, 2, {}, ["1.0"] * 2, [1000], 100, 100, CONTAINERS * 1000),
    ("TestReplicaCalcMissingMetricsNoChangeGt", 2, 2, {}, ["1.0"] * 2, [1900], 100, 190, CONTAINERS * 1900),
    ("TestReplicaCalcMissingMetricsNoChangeLt", 2, 2, {}, ["1.0"] * 2, [600], 100, 60, CONTAINERS * 600),
    ("TestReplicaCalcMissingMetricsUnreadyChange", 3, 3, {"readiness": [F, T, T]}, ["1.0"] * 3, [100, 450], 50, 45,
     CONTAINERS * 450),
    ("TestReplicaCalcMissingMetricsHotCpuNoChange", 3, 3, {"start": [HOT, COOL, COOL]}, ["1.0"] * 3, [100, 450], 50, 45,
     CONTAINERS * 450),
    ("TestReplicaCalcMissingMetricsUnreadyScaleUp", 3, 4, {"readiness": [F, T, T]}, ["1.0"] * 3, [100, 2000], 50, 200,
     CONTAINERS * 2000),
    ("TestReplicaCalcMissingMetricsHotCpuScaleUp", 3, 4, {"readiness": [F, T, T], "start": [HOT, COOL, COOL]},
     ["1.0"] * 3, [100, 2000], 50, 200, CONTAINERS * 2000),
    ("TestReplicaCalcMissingMetricsUnreadyScaleDown", 4, 3, {"readiness": [F, T, T, T]}, ["1.0"] * 4, [100, 100, 100],
     50, 10, CONTAINERS * 100),
    ("TestReplicaCalcMissingMetricsScaleDownTargetOver100", 4, 2, {"readiness": [F, T, T, T]},
     ["1.0", "1.0", "2.0", "2.0"], [200, 100, 100], 300, 6, CONTAINERS * 100),
    ("TestReplicaCalcDuringRollingUpdateWithMaxSurge", 2, 2, {"phase": ["Running"] * 3}, ["1.0"] * 3, [100, 100], 50,
     10, CONTAINERS * 100),
]


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[c[0] for c in RESOURCE_CASES])
def test_resource_replicas(case):
    _, current, expected, opts, requests, levels, target, utilization, raw = case
    pods = make_pods(current, requests=requests, **opts)
    p = calc().get_resource_replicas(current, target, "cpu", TOL, pods, resource_metrics(levels), NOW)
    assert (p.replicas, p.usage, p.raw) == (expected, utilization, raw)


# (upstream test, currentReplicas, requests, levels, pod names of the metrics, expected error text)
RESOURCE_ERROR_CASES = [
    ("TestReplicaCalcDisjointResourcesMetrics", 1, ["1.0"], [100], ["an-older-pod-name"],
     "no metrics returned matched known pods"),
    ("TestReplicaCalcEmptyMetrics", 4, ["1.0"] * 3, [], None,
     "unable to get metrics for resource cpu: no metrics returned from resource metrics API"),
    ("TestReplicaCalcEmptyCPURequest", 1, [], [200], None, "missing request for"),
]


@pytest.mark.parametrize("case", RESOURCE_ERROR_CASES, ids=[c[0] for c in RESOURCE_ERROR_CASES])
def test_resource_replicas_errors(case):
    _, current, requests, levels, names, message = case
    pods = make_pods(current, requests=requests)
    with pytest.raises(MetricsError, match=message):
        calc().get_resource_replicas(current, 100, "cpu", TOL, pods, resource_metrics(levels, names), NOW)


# (upstream test, kind, currentReplicas, expectedReplicas, pod options, levels, target, per-pod target, usage)
METRIC_CASES = [
    ("TestReplicaCalcScaleUpCM", "pods", 3, 4, {}, [20000, 10000, 30000], 15000, None, 20000),
    ("TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale", "pods", 3, 6,
     {"readiness": [T, T, F], "start": [COOL, COOL, HOT]}, [50000, 10000, 30000], 15000, None, 30000),
    ("TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown", "pods", 3, 7,
     {"readiness": [F, T, F], "start": [HOT, COOL, HOT]}, [50000, 15000, 30000], 15000, None, 31666),
    ("TestReplicaCalcScaleUpCMObject", "object", 3, 4, {}, [20000], 15000, None, 20000),
    ("TestReplicaCalcScaleUpCMPerPodObject", "objectPerPod", 3, 4, {}, [20000], None, 5000, 6667),
    ("TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods", "object", 3, 5, {"readiness": [F, T, F]}, [50000], 10000,
     None, 50000),
    ("TestReplicaCalcScaleUpCMExternal", "pods", 1, 2, {}, [8600], 4400, None, 8600),
    ("TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods", "external", 3, 2, {"readiness": [F, T, F]}, [8600], 4400,
     None, 8600),
    ("TestReplicaCalcScaleUpCMExternalNoLabels", "pods", 1, 2, {}, [8600], 4400, None, 8600),
    ("TestReplicaCalcScaleUpPerPodCMExternal", "externalPerPod", 3, 4, {}, [8600], None, 2150, 2867),
    ("TestReplicaCalcScaleDownCM", "pods", 5, 3, {}, [12000] * 5, 20000, None, 12000),
    ("TestReplicaCalcScaleDownPerPodCMObject", "objectPerPod", 5, 3, {}, [6000], None, 2000, 1200),
    ("TestReplicaCalcScaleDownCMObject", "object", 5, 3, {}, [12000], 20000, None, 12000),
    ("TestReplicaCalcScaleDownCMExternal", "external", 5, 3, {}, [8600], 14334, None, 8600),
    ("TestReplicaCalcScaleDownPerPodCMExternal", "externalPerPod", 5, 3, {}, [8600], None, 2867, 1720),
    ("TestReplicaCalcToleranceCM", "pods", 3, 3, {}, [20000, 21000, 21000], 20000, None, 20666),
    ("TestReplicaCalcToleranceCMObject", "object", 3, 3, {}, [20666], 20000, None, 20666),
    ("TestReplicaCalcTolerancePerPodCMObject", "objectPerPod", 4, 4, {}, [20166], None, 5000, 5042),
    ("TestReplicaCalcToleranceCMExternal", "external", 3, 3, {}, [8600], 8888, None, 8600),
    ("TestReplicaCalcTolerancePerPodCMExternal", "externalPerPod", 3, 3, {}, [8600], None, 2900, 2867),
    ("TestPlainMetricReplicaCalcMissingMetricsNoChangeEq", "pods", 5, 5, {}, [20000, 19000, 21000], 20000, None, 20000),
    ("TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM", "pods", 2, 2, {"phase": ["Running"] * 3}, [10000, 10000], 17000,
     None, 10000),
    ("TestReplicaCalcConfigurableTolerancePerPodCMObject", "objectPerPod", 4, 5, {"tolerances": (0.1, 0.01)}, [20208],
     None, 5000, 5052),
    ("TestReplicaCalcConfigurableToleranceCMExternal", "external", 3, 4, {"tolerances": (0.1, 0.01)}, [8900], 8800,
     None, 8900),
    ("TestReplicaCalcConfigurableTolerancePerPodCMExternal", "externalPerPod", 3, 4, {"tolerances": (0.1, 0.01)},
     [8600], None, 2800, 2867),
]


@pytest.mark.parametrize("case", METRIC_CASES, ids=[c[0] for c in METRIC_CASES])
def test_metric_replicas(case):
    _, kind, current, expected, opts, levels, target, per_pod, usage = case
    opts = dict(opts)
    tol = Tolerances(*opts.pop("tolerances", (0.1, 0.1)))
    pods = make_pods(current, **opts)
    c = calc()
    if kind == "pods":
        metrics = {f"test-pod-{i}": PodMetric(v) for i, v in enumerate(levels)}
        p = c.get_metric_replicas(current, target, tol, pods, metrics, NOW)
    elif kind == "object":
        p = c.get_object_metric_replicas(current, target, levels[0], tol, pods)
    elif kind == "objectPerPod":
        p = c.get_object_per_pod_metric_replicas(current, per_pod, levels[0], tol)
    elif kind == "external":
        p = c.get_external_metric_replicas(current, target, levels, tol, pods)
    else:
        p = c.get_external_per_pod_metric_replicas(current, per_pod, levels, tol)
    assert (p.replicas, p.usage) == (expected, usage)


# ---- horizontal_test.go ----------------------------------------------------------------------

def rules(pods, pods_period, percent, percent_period, window, select="Max"):
    """generateScalingRules"""
    r = {"stabilizationWindowSeconds": window, "selectPolicy": select, "policies": []}
    if pods:
        r["policies"].append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent:
        r["policies"].append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    return r


def uniform_events(changes, period):
    """generateEventsUniformDistribution: events in the middle of equal segments of the last period."""
    seg = period / len(changes)
    return [ScaleEvent(c, NOW - int(period - seg * (i + 1) + seg / 2)) for i, c in enumerate(changes)]


# (name, scaleUpEvents, scaleDownEvents, min, max, scaleUpRules, scaleDownRules, current, prenormalized, expected, condition)
SCALING_WITH_RULES = [
    ("prenormalized desired replicas within range", None, None, 3, 8, None, None, 5, 7, 7, "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", None, None, 2, 8, None, None, 3, 1, 2, "TooFewReplicas"),
    ("prenormalized desired replicas within range when minReplicas is 0", None, None, 0, 10, None, None, 1, 0, 0,
     "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", None, None, 1, 10, None, None, 20, 1000, 10,
     "TooManyReplicas"),
    ("desired replica count is more than the maximum replica count", None, None, 100, 150, None, None, 100, 1000, 150,
     "TooManyReplicas"),
    ("scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", None, None, 1, 2000,
     rules(0, 0, 1, 60, 0), None, 3, 1000, 4, "ScaleUpLimit"),
    ("scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies", None, None, 3, 2000,
     None, rules(20, 60, 0, 0, 0), 1000, 3, 980, "ScaleDownLimit"),
    ("scaleUp with default behavior", None, None, 1, 1000, None, None, 10, 50, 20, "ScaleUpLimit"),
    ("scaleUp with pods policy larger than percent policy", None, None, 1, 1000, rules(100, 60, 100, 60, 0), None,
     10, 500, 110, "ScaleUpLimit"),
    ("scaleUp with percent policy larger than pods policy", None, None, 1, 1000, rules(2, 60, 100, 60, 0), None,
     10, 500, 20, "ScaleUpLimit"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy", None, None, 1, 1000, rules(100, 60, 0, 0, 0),
     None, 10, 50, 50, "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy", None, None, 1, 1000,
     rules(10000, 60, 0, 0, 0), None, 10, 50, 50, "DesiredWithinRange"),
    ("scaleUp with pod policy limitation", None, None, 1, 1000, rules(30, 60, 0, 0, 0), None, 10, 50, 40,
     "ScaleUpLimit"),
    ("scaleUp with percent policy limitation", None, None, 1, 1000, rules(0, 0, 200, 60, 0), None, 10, 50, 30,
     "ScaleUpLimit"),
    ("scaleDown with percent policy larger than pod policy", None, None, 1, 1000, None, rules(20, 60, 1, 60, 300),
     100, 2, 80, "ScaleDownLimit"),
    ("scaleDown with pod policy larger than percent policy", None, None, 1, 1000, None, rules(2, 60, 1, 60, 300),
     100, 2, 98, "ScaleDownLimit"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy", None, None, 1, 1000, None,
     rules(100, 60, 0, 0, 300), 10, 0, 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy", None, None, 5, 1000, None,
     rules(0, 0, 100, 60, 300), 10, 2, 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation", None, None, 1, 1000, None, rules(5, 60, 0, 0, 300), 10, 2, 5,
     "ScaleDownLimit"),
    ("scaleDown with percent policy limitation", None, None, 1, 1000, None, rules(0, 0, 50, 60, 300), 10, 5, 5,
     "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy and events", [1, 5, 9], None, 1, 200,
     rules(300, 60, 0, 0, 0), None, 100, 500, 200, "TooManyReplicas"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy and events", [1, 5, 9], None, 1, 200,
     rules(0, 0, 10000, 60, 0), None, 100, 500, 200, "TooManyReplicas"),
    ("scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
     [1, 5, 9], None, 1, 1000, rules(5, 120, 0, 0, 0), None, 100, 500, 100, "ScaleUpLimit"),
    ("scaleUp with pod policy and previous scale up events", [1, 5, 9], None, 1, 1000, rules(150, 120, 0, 0, 0), None,
     100, 500, 235, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up events", [1, 5, 9], None, 1, 1000, rules(0, 0, 200, 120, 0),
     None, 100, 500, 255, "ScaleUpLimit"),
    ("scaleDown with default policy and previous events", None, [1, 5, 9], 1, 1000, None, None, 10, 5, 5,
     "DesiredWithinRange"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", None, [1, 5, 9], 1,
     1000, None, rules(115, 120, 0, 0, 300), 100, 0, 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large pod policy and previous events", None, [1, 5, 9], 5,
     1000, None, rules(130, 120, 0, 0, 300), 100, 0, 5, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy and previous events", None, [1, 5, 9], 5,
     1000, None, rules(0, 0, 100, 120, 300), 100, 2, 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation and previous events", None, [1, 5, 9], 1, 1000, None,
     rules(5, 120, 0, 0, 300), 100, 2, 100, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation and previous events", None, [2, 4, 6], 1, 1000, None,
     rules(0, 0, 50, 120, 300), 100, 0, 56, "ScaleDownLimit"),
    ("scaleDown with previous events preventing further scale down", None, [10, 10, 10], 1, 1000, None,
     rules(0, 0, 10, 120, 300), 100, 0, 100, "ScaleDownLimit"),
    ("scaleDown with with previous events still allowing more scale down", None, [10, 10, 10], 1, 1000, None,
     rules(0, 0, 1000, 120, 300), 10, 5, 5, "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for up", [8, 12, 9, 11], None, 1, 1000,
     rules(1000, 60, 0, 0, 0), None, 100, 200, 200, "DesiredWithinRange"),
    ("check that events were not marked 'outdated' for two different policies in the behavior for up",
     [8, 12, 9, 11], None, 1, 1000, rules(1000, 120, 100, 60, 0), None, 100, 200, 200, "DesiredWithinRange"),
    ("check that events were marked 'outdated' for two different policies in the behavior for up", [8, 12, 9, 11],
     None, 1, 1000, rules(1000, 30, 100, 60, 0), None, 100, 200, 200, "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for down", None, [8, 12, 9, 11], 1, 1000, None,
     rules(1000, 60, 0, 0, 300), 100, 5, 5, "DesiredWithinRange"),
    ("check that events were not marked 'outdated' for two different policies in the behavior for down", None,
     [8, 12, 9, 11], 1, 1000, None, rules(1000, 120, 100, 60, 300), 100, 5, 5, "DesiredWithinRange"),
    ("check that events were marked 'outdated' for two different policies in the behavior for down", None,
     [8, 12, 9, 11], 1, 1000, None, rules(1000, 30, 100, 60, 300), 100, 5, 5, "DesiredWithinRange"),
]


@pytest.mark.parametrize("case", SCALING_WITH_RULES, ids=[f"TestScalingWithRules/{c[0]}" for c in SCALING_WITH_RULES])
def test_scaling_with_rules(case):
    _, up_events, down_events, lo, hi, up_rules, down_rules, current, desired, expected, condition = case
    hc = HorizontalController()
    hc.scale_up_events = uniform_events(up_events, 120) if up_events else []
    hc.scale_down_events = uniform_events(down_events, 120) if down_events else []
    arg = NormalizationArg(generate_scale_up_rules(up_rules), generate_scale_down_rules(down_rules), lo, hi, current,
                           desired)
    assert hc.convert_desired_replicas_with_behavior_rate(arg, NOW)[:2] == (expected, condition)


# (name, recommendations (value, seconds ago), prenormalized, expected stabilized, expected log length)
NORMALIZE_DESIRED = [
    ("empty log", [], 5, 5, 1),
    ("stabilize", [(4, 120), (5, 60)], 3, 5, 3),
    ("no stabilize", [(1, 120), (2, 60)], 3, 3, 3),
    ("no stabilize - old recommendations", [(10, 600), (9, 540)], 3, 3, 2),
    ("stabilize - old recommendations", [(10, 600), (4, 60), (5, 120), (9, 540)], 3, 5, 4),
]


@pytest.mark.parametrize("case", NORMALIZE_DESIRED, ids=[f"TestNormalizeDesiredReplicas/{c[0]}" for c in NORMALIZE_DESIRED])
def test_normalize_desired_replicas(case):
    _, recs, prenormalized, expected, length = case
    hc = HorizontalController(downscale_stabilization=300)
    hc.recommendations = [Recommendation(r, NOW - ago) for r, ago in recs]
    assert hc.stabilize_recommendation(prenormalized, NOW) == expected
    assert len(hc.recommendations) == length


# (name, recommendations (value, seconds ago), current, prenormalized, expected, stored values, up window, down window)
NORMALIZE_WITH_BEHAVIOR = [
    ("empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0),
    ("simple scale down stabilization", [(4, 120), (5, 60)], 100, 3, 5, [4, 5, 3], 0, 180),
    ("simple scale up stabilization", [(4, 120), (5, 60)], 1, 7, 4, [4, 5, 7], 300, 0),
    ("no scale down stabilization", [(1, 120), (2, 60)], 100, 3, 3, [1, 2, 3], 300, 0),
    ("no scale up stabilization", [(4, 120), (5, 60)], 1, 3, 3, [4, 5, 3], 0, 300),
    ("no scale down stabilization, reuse recommendation element", [(10, 600), (9, 540)], 100, 3, 3, [10, 3], 0, 0),
    ("no scale up stabilization, reuse recommendation element", [(10, 600), (9, 540)], 1, 100, 100, [10, 100], 0, 0),
    ("scale down stabilization, reuse one of obsolete recommendation element",
     [(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 5, [10, 4, 5, 3], 0, 180),
    ("scale up stabilization, reuse one of obsolete recommendation element",
     [(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 5, [100, 6, 5, 9], 300, 0),
]


@pytest.mark.parametrize("case", NORMALIZE_WITH_BEHAVIOR,
                         ids=[f"TestNormalizeDesiredReplicasWithBehavior/{c[0]}" for c in NORMALIZE_WITH_BEHAVIOR])
def test_normalize_desired_replicas_with_behavior(case):
    _, recs, current, prenormalized, expected, stored, up_window, down_window = case
    hc = HorizontalController()
    hc.recommendations = [Recommendation(r, NOW - ago) for r, ago in recs]
    arg = NormalizationArg({"stabilizationWindowSeconds": up_window}, {"stabilizationWindowSeconds": down_window},
                           0, 0, current, prenormalized)
    assert hc.stabilize_recommendation_with_behaviors(arg, NOW)[0] == expected
    assert [r.recommendation for r in hc.recommendations] == stored


# (name, previous events (change, seconds ago), new events (change, outdated), rules, replicas changed in 60 s)
STORE_SCALE_EVENTS = [
    ("empty entries with default behavior", [], [], None, 0),
    ("empty entries with two-policy-behavior", [], [(5, False)], rules(10, 60, 100, 60, 0), 0),
    ("one outdated entry to be kept untouched without behavior", [(7, 61)], [(7, False)], None, 0),
    ("one outdated entry to be replaced with behavior", [(7, 61)], [(5, False)], rules(10, 60, 100, 60, 0), 0),
    ("one actual entry to be not touched with behavior", [(7, 58)], [(7, False), (5, False)],
     rules(10, 60, 100, 60, 0), 7),
    ("two entries, one of them to be replaced", [(7, 61), (6, 59)], [(5, False), (6, False)],
     rules(10, 60, 0, 0, 0), 6),
    ("replace one entry, use policies with different periods", [(8, 29), (6, 59), (7, 61), (9, 61)],
     [(8, False), (6, False), (7, True), (5, False)], rules(10, 60, 100, 30, 0), 14),
    ("two entries, both actual", [(7, 58), (6, 59)], [(7, False), (6, False), (5, False)],
     rules(10, 120, 100, 30, 0), 13),
]


@pytest.mark.parametrize("case", STORE_SCALE_EVENTS, ids=[f"TestStoreScaleEvents/{c[0]}" for c in STORE_SCALE_EVENTS])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_store_scale_events(case, direction):
    _, prev, new, scaling_rules, changed = case
    hc = HorizontalController()
    events = [ScaleEvent(c, NOW - ago) for c, ago in prev]
    behavior = None
    if scaling_rules is not None:
        behavior = {"scaleUp" if direction == "up" else "scaleDown": scaling_rules}
    if direction == "up":
        hc.scale_up_events = events
        assert get_replicas_change_per_period(60, hc.scale_up_events, NOW) == changed
        hc.store_scale_event(behavior, 10, 15, NOW)
        got = hc.scale_up_events
    else:
        hc.scale_down_events = events
        assert get_replicas_change_per_period(60, hc.scale_down_events, NOW) == changed
        hc.store_scale_event(behavior, 10, 5, NOW)
        got = hc.scale_down_events
    assert [(e.replica_change, e.outdated) for e in got] == new


def test_calculate_scale_up_limit_with_scaling_rules():
    """TestCalculateScaleUpLimitWithScalingRules"""
    r = rules(2, 60, 50, 60, 300, select="Min")
    assert calculate_scale_up_limit_with_scaling_rules(1, [], [], r, NOW) == 2


def test_calculate_scale_down_limit_with_behaviors():
    """TestCalculateScaleDownLimitWithBehaviors"""
    r = rules(2, 60, 50, 60, 300, select="Min")
    assert calculate_scale_down_limit_with_behaviors(5, [], [], r, NOW) == 3


# (annotation, current, desired, min, max, expected, condition)
CONVERT_WITH_RULES = [
    ("prenormalized desired replicas within range", 5, 7, 3, 8, 7, "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", 3, 1, 2, 8, 2, "TooFewReplicas"),
    ("prenormalized desired zeroed replicas within range", 1, 0, 0, 10, 0, "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, 10, "TooManyReplicas"),
    ("scaleUpLimit is the limit because scaleUpLimit < maxReplicas", 3, 1000, 1, 2000, calculate_scale_up_limit(3),
     "ScaleUpLimit"),
]


@pytest.mark.parametrize("case", CONVERT_WITH_RULES,
                         ids=[f"TestConvertDesiredReplicasWithRules/{c[0]}" for c in CONVERT_WITH_RULES])
def test_convert_desired_replicas_with_rules(case):
    _, current, desired, lo, hi, expected, condition = case
    assert convert_desired_replicas_with_rules(current, desired, lo, hi)[:2] == (expected, condition)
    assert calculate_scale_up_limit(3) == 6


# ---- defaults_test.go ------------------------------------------------------------------------

def _given(pods=0, pods_period=0, percent=0, percent_period=0, window=None, select=None):
    r = {"stabilizationWindowSeconds": window, "selectPolicy": select}
    policies = []
    if pods or pods_period:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent or percent_period:
        policies.append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    r["policies"] = policies or None
    return r


# (test, annotation, given rules, expected policies, expected window, expected selectPolicy)
DEFAULT_CASES = [
    ("TestGenerateScaleDownRules", "Default values", _given(), [("Percent", 100, 15)], None, "Max"),
    ("TestGenerateScaleDownRules", "All parameters are specified", _given(1, 2, 3, 4, 25, "Max"),
     [("Pods", 1, 2), ("Percent", 3, 4)], 25, "Max"),
    ("TestGenerateScaleDownRules", "Percent policy is specified", _given(percent=1, percent_period=2, select="Min"),
     [("Percent", 1, 2)], None, "Min"),
    ("TestGenerateScaleDownRules", "Pods policy is specified", _given(3, 4), [("Pods", 3, 4)], None, "Max"),
    ("TestGenerateScaleUpRules", "Default values", _given(), [("Pods", 4, 15), ("Percent", 100, 15)], 0, "Max"),
    ("TestGenerateScaleUpRules", "All parameters are specified", _given(1, 2, 3, 4, 25, "Max"),
     [("Pods", 1, 2), ("Percent", 3, 4)], 25, "Max"),
    ("TestGenerateScaleUpRules", "Pod policy is specified", _given(1, 2, select="Min"), [("Pods", 1, 2)], 0, "Min"),
    ("TestGenerateScaleUpRules", "Percent policy is specified", _given(percent=7, percent_period=10),
     [("Percent", 7, 10)], 0, "Max"),
    ("TestGenerateScaleUpRules", "Pod policy and stabilization window are specified",
     _given(4, 2, window=25), [("Pods", 4, 2)], 25, "Max"),
    ("TestGenerateScaleUpRules", "Percent policy and stabilization window are specified",
     _given(percent=7, percent_period=60, window=25), [("Percent", 7, 60)], 25, "Max"),
]


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=[f"{c[0]}/{c[1]}" for c in DEFAULT_CASES])
def test_behavior_defaults(case):
    test, _, given, policies, window, select = case
    generate = generate_scale_down_rules if test == "TestGenerateScaleDownRules" else generate_scale_up_rules
    r = generate(given)
    assert [(p["type"], p["value"], p["periodSeconds"]) for p in r["policies"]] == policies
    assert r["stabilizationWindowSeconds"] == window
    assert r["selectPolicy"] == select


# ---- whole syncs (the lab's own, on the paths above) ------------------------------------------

class FakeMetrics:
    def __init__(self, pods=None, external=None):
        self.pods = pods or {}
        self.external = external

    def get_raw_metric(self, name, pods, selector):
        if not self.pods:
            raise MetricsError(f"unable to get metric {name}: no metrics returned from custom metrics API")
        return {k: PodMetric(v) for k, v in self.pods.items()}

    def get_external_metric(self, name, selector):
        if self.external is None:
            raise MetricsError(f"unable to get external metric {name}")
        return self.external


HPA = {"spec": {"minReplicas": 1, "maxReplicas": 10, "metrics": [
    {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "5"}}}]}}


def test_sync_legacy_scale_up_limit_and_downscale_window():
    """Without behavior: scale-up at most max(2x, 4); scale-down held 5 minutes."""
    hpa = apply_defaults(HPA)
    hc = HorizontalController()
    pods = make_pods(1)
    r = hc.reconcile(hpa, 1, 1, pods, FakeMetrics({"test-pod-0": 40000}), NOW)
    assert (r.recommendation, r.desired_replicas, r.conditions["ScalingLimited"][1]) == (8, 4, "ScaleUpLimit")
    pods = make_pods(4)
    low = {p.name: 1000 for p in pods}
    r = hc.reconcile(hpa, 4, 4, pods, FakeMetrics(low), NOW + 15)
    assert (r.recommendation, r.desired_replicas) == (1, 8)  # the 8 from 15 s ago holds, then the 2x limit
    r = hc.reconcile(hpa, 8, 8, make_pods(8), FakeMetrics({f"test-pod-{i}": 1000 for i in range(8)}), NOW + 30)
    assert r.desired_replicas == 8 and "stabilization" in r.reason()
    r = hc.reconcile(hpa, 8, 8, make_pods(8), FakeMetrics({f"test-pod-{i}": 1000 for i in range(8)}), NOW + 331)
    assert r.desired_replicas == 2


def test_sync_all_metrics_invalid_keeps_replicas():
    hpa = apply_defaults(HPA)
    r = HorizontalController().reconcile(hpa, 3, 3, make_pods(3), FakeMetrics(), NOW)
    assert (r.recommendation, r.desired_replicas, r.rescale) == (-1, 3, False)
    assert r.conditions["ScalingActive"][:2] == ("False", "FailedGetPodsMetric")


def test_sync_per_direction_tolerance():
    hpa = apply_defaults({"spec": {**HPA["spec"], "behavior": {"scaleUp": {"tolerance": "0.5"}}}})
    hc = HorizontalController()
    r = hc.reconcile(hpa, 2, 2, make_pods(2), FakeMetrics({"test-pod-0": 7000, "test-pod-1": 7000}), NOW)
    assert r.desired_replicas == 2 and "within tolerance" in r.reason()  # 1.4 <= 1 + 0.5


def test_quantities():
    assert quantity.milli("500m") == 500 and quantity.milli("5") == 5000 and quantity.milli("1.5k") == 1_500_000
    assert quantity.milli("100Mi") == 100 * 2**20 * 1000 and quantity.milli("0.0001") == 1
    assert quantity.from_float(4.99999) == 4999 and quantity.from_float(float("nan")) == 0 and quantity.from_float(float("inf")) is None
    assert quantity.format_milli(500) == "500m" and quantity.format_milli(20_000_000) == "20k"
    with pytest.raises(quantity.QuantityError):
        quantity.milli("5 pods")


def test_percent_scale_down_truncates():
    """int32(float64(periodStart) * (1 - percent/100)): 5 pods less 50% leaves 2, not 3."""
    assert calculate_scale_down_limit_with_behaviors(5, [], [], rules(0, 0, 50, 60, 0), NOW) == 2


def test_plain_metric_missing_pod_counts_as_target_on_scale_down():
    """calcPlainMetricReplicas: on a scale-down a pod without a metric uses exactly the target."""
    pods = make_pods(3)
    metrics = {"test-pod-0": PodMetric(5000), "test-pod-1": PodMetric(5000)}
    assert calc().get_metric_replicas(3, 10000, TOL, pods, metrics, NOW).replicas == 2  # (5+5+10)/3/10 -> ceil(2.0)
