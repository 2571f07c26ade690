"""The Kubernetes autoscaling/v2 HorizontalPodAutoscaler controller, in Python.

Written from kubernetes pkg/controller/podautoscaler (horizontal.go, replica_calculator.go,
metrics/utilization.go) and pkg/apis/autoscaling/v2/defaults.go; names follow upstream so the
two read side by side. Times are seconds on the caller's clock (the lab passes scenario time, so
a compressed run makes the same decisions as a full one). Values are milli-units (int), as the
controller's MilliValue() arithmetic has them.

What is here:
  - the replica calculator: Resource (Utilization and AverageValue), Pods, Object (Value and
    AverageValue) and External (Value and AverageValue) metrics; missing, unready, pending,
    failed and deleted pods as groupPods treats them; per-direction tolerances;
  - computeReplicasForMetrics: the max over the metrics, invalid metrics and their conditions;
  - without `behavior`: the legacy path (downscale stabilization window, scale-up limit
    max(2 * current, 4));
  - with `behavior`: stabilization windows over past recommendations, Pods/Percent policies over
    their periods with the stored scale events, selectPolicy Max/Min/Disabled;
  - the defaults the API server fills in (minReplicas, metrics, behavior), min/max clamping,
    and the AbleToScale / ScalingActive / ScalingLimited conditions with upstream's reasons.
Not here: the informers, the scale subresource client, events: the lab is the cluster.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Protocol

from lab import quantity

# Go's zero time.Time: long before anything else.
ZERO_TIME = -1e12
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)

DEFAULT_SYNC_PERIOD = 15.0  # --horizontal-pod-autoscaler-sync-period
DEFAULT_TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance
DEFAULT_DOWNSCALE_STABILIZATION = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization
DEFAULT_CPU_INITIALIZATION_PERIOD = 120.0  # --horizontal-pod-autoscaler-cpu-initialization-period
DEFAULT_INITIAL_READINESS_DELAY = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0


class MetricsError(Exception):
    """A metric could not be read or used (upstream returns an error and sets a condition)."""


# ---- pods and metric samples ---------------------------------------------------------------

@dataclass
class Pod:
    """What the controller reads from a pod: phase, the PodReady condition, start time, deletion,
    and the summed container requests of the resource a Resource metric names."""

    name: str
    phase: str = "Running"  # Pending, Running, Succeeded, Failed
    ready: bool = True  # PodReady condition status
    has_ready_condition: bool = True
    start_time: float | None = ZERO_TIME
    ready_transition_time: float = ZERO_TIME  # PodReady LastTransitionTime
    deleted: bool = False  # DeletionTimestamp set
    requests: dict[str, int] = field(default_factory=dict)  # resource -> milli (sum over containers)


@dataclass
class PodMetric:
    value: int  # milli-units
    timestamp: float = ZERO_TIME
    window: float = 60.0


@dataclass(frozen=True)
class Tolerances:
    scale_down: float = DEFAULT_TOLERANCE
    scale_up: float = DEFAULT_TOLERANCE

    def is_within(self, usage_ratio: float) -> bool:
        return (1.0 - self.scale_down) <= usage_ratio <= (1.0 + self.scale_up)


def go_div(a: int, b: int) -> int:
    """Go's integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def ceil_int32(x: float) -> int:
    if x > INT32_MAX:
        return INT32_MAX
    return int(math.ceil(x))


# ---- metrics/utilization.go ----------------------------------------------------------------

def get_resource_utilization_ratio(metrics: dict[str, PodMetric], requests: dict[str, int],
                                   target_utilization: int) -> tuple[float, int, int]:
    metrics_total = requests_total = entries = 0
    for pod, metric in metrics.items():
        if pod not in requests:
            continue  # superfluous metric: no such pod
        metrics_total += metric.value
        requests_total += requests[pod]
        entries += 1
    if requests_total == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = go_div(metrics_total * 100, requests_total)
    return utilization / target_utilization, utilization, go_div(metrics_total, entries)


def get_metric_usage_ratio(metrics: dict[str, PodMetric], target_usage: int) -> tuple[float, int]:
    total = sum(m.value for m in metrics.values())
    usage = go_div(total, len(metrics))
    return usage / target_usage, usage


# ---- replica_calculator.go -----------------------------------------------------------------

@dataclass
class Proposal:
    replicas: int
    usage: int  # the value the HPA status shows (utilization % for Utilization targets)
    raw: int | None = None  # raw average value for Resource metrics
    usage_ratio: float | None = None
    within_tolerance: bool = False
    ready_pods: int | None = None
    detail: dict = field(default_factory=dict)


def group_pods(pods: list[Pod], metrics: dict[str, PodMetric], resource: str,
               cpu_initialization_period: float, delay_of_initial_readiness_status: float,
               now: float) -> tuple[int, set[str], set[str], set[str]]:
    ready_count = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        if pod.deleted or pod.phase == "Failed":
            ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            unready.add(pod.name)
            continue
        metric = metrics.get(pod.name)
        if metric is None:
            missing.add(pod.name)
            continue
        if resource == "cpu":
            if not pod.has_ready_condition or pod.start_time is None:
                is_unready = True
            elif pod.start_time + cpu_initialization_period > now:
                # Still initializing: ignore the sample if unready, or if one metric window has not
                # passed since the last readiness transition.
                is_unready = (not pod.ready) or metric.timestamp < pod.ready_transition_time + metric.window
            else:
                # Ignore the metric if the pod is unready and has never been ready.
                is_unready = (not pod.ready) and \
                    pod.start_time + delay_of_initial_readiness_status > pod.ready_transition_time
            if is_unready:
                unready.add(pod.name)
                continue
        ready_count += 1
    return ready_count, unready, missing, ignored


class ReplicaCalculator:
    def __init__(self, cpu_initialization_period: float = DEFAULT_CPU_INITIALIZATION_PERIOD,
                 delay_of_initial_readiness_status: float = DEFAULT_INITIAL_READINESS_DELAY) -> None:
        self.cpu_initialization_period = cpu_initialization_period
        self.delay_of_initial_readiness_status = delay_of_initial_readiness_status

    def _group(self, pods, metrics, resource, now):
        return group_pods(pods, metrics, resource, self.cpu_initialization_period,
                          self.delay_of_initial_readiness_status, now)

    def _grouped(self, pods: list[Pod], metrics: dict[str, PodMetric], resource: str, now: float):
        """groupPods, and the metrics without those of ignored and unready pods."""
        if not pods:
            raise MetricsError("no pods returned by selector while calculating replica count")
        metrics = dict(metrics)
        ready_count, unready, missing, ignored = self._group(pods, metrics, resource, now)
        for name in ignored | unready:
            metrics.pop(name, None)
        if not metrics:
            raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
        detail = {"ready": ready_count, "unready": sorted(unready), "missing": sorted(missing),
                  "ignored": sorted(ignored)}
        return metrics, ready_count, unready, missing, detail

    @staticmethod
    def _propose(current_replicas: int, usage_ratio: float, usage: int, raw: int | None, ready_count: int,
                 unready: set[str], missing: set[str], metrics: dict[str, PodMetric], detail: dict,
                 tolerances: Tolerances, scale_down_fallback: Callable[[str], int],
                 ratio_of: Callable[[dict[str, PodMetric]], float]) -> Proposal:
        """The shared second half of GetResourceReplicas and calcPlainMetricReplicas: without
        unready or missing pods, ceil(ratio * ready pods); else missing pods count as the fallback
        (scale-down) or 0 (scale-up), unready pods as 0 on a scale-up, and the ratio is taken again;
        a change of direction, or a change within tolerance, keeps the current count."""
        def proposal(replicas: int, within: bool = False) -> Proposal:
            return Proposal(replicas, usage, raw, usage_ratio, within, ready_count, detail)

        scale_up_with_unready = bool(unready) and usage_ratio > 1.0
        if not scale_up_with_unready and not missing:
            if tolerances.is_within(usage_ratio):
                return proposal(current_replicas, True)
            return proposal(ceil_int32(usage_ratio * ready_count))
        if missing:
            if usage_ratio < 1.0:
                for name in missing:
                    metrics[name] = PodMetric(scale_down_fallback(name))
            elif usage_ratio > 1.0:
                for name in missing:
                    metrics[name] = PodMetric(0)
        if scale_up_with_unready:
            for name in unready:
                metrics[name] = PodMetric(0)
        new_ratio = ratio_of(metrics)
        detail["rebalanced_ratio"] = new_ratio
        if tolerances.is_within(new_ratio) or (usage_ratio < 1.0 < new_ratio) or (usage_ratio > 1.0 > new_ratio):
            return proposal(current_replicas, tolerances.is_within(new_ratio))
        new_replicas = ceil_int32(new_ratio * len(metrics))
        if (new_ratio < 1.0 and new_replicas > current_replicas) or (new_ratio > 1.0 and new_replicas < current_replicas):
            return proposal(current_replicas)
        return proposal(new_replicas)

    def get_resource_replicas(self, current_replicas: int, target_utilization: int, resource: str,
                              tolerances: Tolerances, pods: list[Pod], metrics: dict[str, PodMetric],
                              now: float) -> Proposal:
        if not metrics:
            raise MetricsError(f"unable to get metrics for resource {resource}: "
                               "no metrics returned from resource metrics API")
        metrics, ready_count, unready, missing, detail = self._grouped(pods, metrics, resource, now)
        requests = {}
        for pod in pods:
            if resource not in pod.requests:
                raise MetricsError(f"missing request for {resource} in Pod {pod.name}")
            requests[pod.name] = pod.requests[resource]
        usage_ratio, utilization, raw = get_resource_utilization_ratio(metrics, requests, target_utilization)
        # scale-down: a missing pod uses 100% of its request (or the target, if higher)
        fallback = max(100, target_utilization)
        return self._propose(current_replicas, usage_ratio, utilization, raw, ready_count, unready, missing, metrics,
                             detail, tolerances, lambda name: go_div(requests[name] * fallback, 100),
                             lambda m: get_resource_utilization_ratio(m, requests, target_utilization)[0])

    def get_raw_resource_replicas(self, current_replicas: int, target_usage: int, resource: str,
                                  tolerances: Tolerances, pods: list[Pod], metrics: dict[str, PodMetric],
                                  now: float) -> Proposal:
        if not metrics:
            raise MetricsError(f"unable to get metrics for resource {resource}: "
                               "no metrics returned from resource metrics API")
        return self.calc_plain_metric_replicas(metrics, current_replicas, target_usage, tolerances, pods,
                                               resource, now)

    def get_metric_replicas(self, current_replicas: int, target_usage: int, tolerances: Tolerances,
                            pods: list[Pod], metrics: dict[str, PodMetric], now: float) -> Proposal:
        """Pods metrics (AverageValue over the pods that reported)."""
        return self.calc_plain_metric_replicas(metrics, current_replicas, target_usage, tolerances, pods, "", now)

    def calc_plain_metric_replicas(self, metrics: dict[str, PodMetric], current_replicas: int, target_usage: int,
                                   tolerances: Tolerances, pods: list[Pod], resource: str, now: float) -> Proposal:
        metrics, ready_count, unready, missing, detail = self._grouped(pods, metrics, resource, now)
        usage_ratio, usage = get_metric_usage_ratio(metrics, target_usage)
        # scale-down: a missing pod uses exactly the target
        return self._propose(current_replicas, usage_ratio, usage, None, ready_count, unready, missing, metrics,
                             detail, tolerances, lambda _name: target_usage,
                             lambda m: get_metric_usage_ratio(m, target_usage)[0])

    @staticmethod
    def _ready_pods_count(pods: list[Pod]) -> int:
        if not pods:
            raise MetricsError("no pods returned by selector while calculating replica count")
        return sum(1 for p in pods if p.phase == "Running" and p.ready)

    def _usage_ratio_replica_count(self, current_replicas: int, usage_ratio: float, tolerances: Tolerances,
                                   pods: list[Pod]) -> tuple[int, bool, int | None]:
        if current_replicas != 0:
            if tolerances.is_within(usage_ratio):
                return current_replicas, True, None
            ready = self._ready_pods_count(pods)
            return ceil_int32(usage_ratio * ready), False, ready
        return int(math.ceil(usage_ratio)), False, None  # scale from zero

    def get_object_metric_replicas(self, current_replicas: int, target_usage: int, usage: int,
                                   tolerances: Tolerances, pods: list[Pod]) -> Proposal:
        ratio = usage / target_usage
        replicas, within, ready = self._usage_ratio_replica_count(current_replicas, ratio, tolerances, pods)
        return Proposal(replicas, usage, None, ratio, within, ready)

    def get_object_per_pod_metric_replicas(self, status_replicas: int, target_average_usage: int, usage: int,
                                           tolerances: Tolerances) -> Proposal:
        replicas = status_replicas
        ratio = usage / (target_average_usage * replicas)
        within = tolerances.is_within(ratio)
        if not within:
            replicas = int(math.ceil(usage / target_average_usage))
        return Proposal(replicas, int(math.ceil(usage / status_replicas)), None, ratio, within)

    def get_external_metric_replicas(self, current_replicas: int, target_usage: int, values: list[int],
                                     tolerances: Tolerances, pods: list[Pod]) -> Proposal:
        usage = min(sum(values), quantity.INT64_MAX)
        ratio = usage / target_usage
        replicas, within, ready = self._usage_ratio_replica_count(current_replicas, ratio, tolerances, pods)
        return Proposal(replicas, usage, None, ratio, within, ready)

    def get_external_per_pod_metric_replicas(self, status_replicas: int, target_usage_per_pod: int,
                                             values: list[int], tolerances: Tolerances) -> Proposal:
        usage = min(sum(values), quantity.INT64_MAX)
        replicas = status_replicas
        ratio = usage / (target_usage_per_pod * replicas)
        within = tolerances.is_within(ratio)
        if not within:
            replicas = min(int(math.ceil(usage / target_usage_per_pod)), INT32_MAX)
        per_pod = quantity.INT64_MAX if usage >= quantity.INT64_MAX else int(math.ceil(usage / status_replicas))
        return Proposal(replicas, per_pod, None, ratio, within)


# ---- pkg/apis/autoscaling/v2/defaults.go -----------------------------------------------------

def default_scale_up_rules() -> dict:
    return {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                         {"type": "Percent", "value": 100, "periodSeconds": 15}]}


def default_scale_down_rules() -> dict:
    # StabilizationWindowSeconds stays unset: the controller fills in its
    # --horizontal-pod-autoscaler-downscale-stabilization (maybeInitScaleDownStabilizationWindow).
    return {"stabilizationWindowSeconds": None, "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _copy_rules(given: dict | None, defaults: dict) -> dict:
    if given is None:
        return defaults
    out = defaults
    for key in ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"):
        if given.get(key) is not None:
            out[key] = copy.deepcopy(given[key])
    return out


def generate_scale_up_rules(rules: dict | None) -> dict:
    return _copy_rules(rules, default_scale_up_rules())


def generate_scale_down_rules(rules: dict | None) -> dict:
    return _copy_rules(rules, default_scale_down_rules())


def apply_defaults(hpa: dict) -> dict:
    """SetDefaults_HorizontalPodAutoscaler: minReplicas 1, CPU at 80% when no metric is given,
    and the behavior's missing parts (only when a behavior is given: without one the controller
    takes the legacy path)."""
    hpa = copy.deepcopy(hpa)
    spec = hpa.setdefault("spec", {})
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    if spec.get("behavior") is not None:
        behavior = spec["behavior"]
        behavior["scaleUp"] = generate_scale_up_rules(behavior.get("scaleUp"))
        behavior["scaleDown"] = generate_scale_down_rules(behavior.get("scaleDown"))
    return hpa


# ---- the metrics the controller asks for -----------------------------------------------------

class MetricsClient(Protocol):
    """What the HPA asks the metrics APIs (metrics.k8s.io, custom.metrics.k8s.io,
    external.metrics.k8s.io). Each raises MetricsError when the API has no answer."""

    def get_resource_metric(self, resource: str, pods: list[Pod], container: str = "") -> dict[str, PodMetric]: ...
    def get_raw_metric(self, name: str, pods: list[Pod], metric_selector: dict | None) -> dict[str, PodMetric]: ...
    def get_object_metric(self, name: str, described_object: dict, metric_selector: dict | None) -> int: ...
    def get_external_metric(self, name: str, metric_selector: dict | None) -> list[int]: ...


# ---- horizontal.go ---------------------------------------------------------------------------

@dataclass
class ScaleEvent:
    replica_change: int
    timestamp: float
    outdated: bool = False


@dataclass
class Recommendation:
    recommendation: int
    timestamp: float


@dataclass
class MetricResult:
    """One metric's outcome in a sync (for the status, the table and inputs.jsonl)."""

    name: str  # "pods metric http_requests_per_second"
    type: str
    target_type: str
    target: int  # milli (or percent for Utilization)
    replicas: int | None = None
    value: int | None = None  # milli (or percent), as the HPA status shows it
    raw: dict | None = None  # what the metrics API returned
    proposal: Proposal | None = None
    error: str | None = None


@dataclass
class SyncResult:
    now: float
    current_replicas: int
    recommendation: int  # the metrics' proposal before normalization (-1 on failure)
    desired_replicas: int
    rescale: bool
    rescale_reason: str
    metrics: list[MetricResult]
    conditions: dict[str, tuple[str, str, str]]  # type -> (status, reason, message)
    error: str | None = None
    stabilized: int | None = None

    def reason(self) -> str:
        """One human line: what the HPA did and what bounded it."""
        parts = []
        if self.error and self.recommendation == -1:
            c = self.conditions.get("ScalingActive", ("", "", ""))
            return f"{c[1]}: {self.error}"
        if self.rescale:
            parts.append(f"scale {'up' if self.desired_replicas > self.current_replicas else 'down'} "
                         f"{self.current_replicas}->{self.desired_replicas} ({self.rescale_reason})")
        if self.recommendation == self.current_replicas and self.metrics and all(
                m.proposal and m.proposal.within_tolerance for m in self.metrics if m.error is None):
            parts.append("within tolerance")
        for m in self.metrics:
            d = m.proposal.detail if m.proposal else {}
            if d.get("missing") or d.get("unready"):
                what = [f"{len(d[k])} {k}" for k in ("missing", "unready") if d.get(k)]
                parts.append(f"{' and '.join(what)} pod(s) rebalanced as upstream does")
        if self.stabilized is not None and self.stabilized != self.recommendation:
            window = "scale-down" if self.stabilized > self.recommendation else "scale-up"
            parts.append(f"held by the {window} stabilization window (recommendation "
                         f"{self.recommendation}, stabilized {self.stabilized})")
        limited = self.conditions.get("ScalingLimited", ("False", "", ""))
        if limited[0] == "True":
            parts.append({
                "ScaleUpLimit": "scale-up limited by a policy",
                "ScaleDownLimit": "scale-down limited by a policy",
                "TooManyReplicas": "clamped by maxReplicas",
                "TooFewReplicas": "clamped by minReplicas",
            }.get(limited[1], limited[1]))
        if self.error:
            parts.append(f"partial: {self.error}")
        return "; ".join(parts) if parts else "no change"


def get_replicas_change_per_period(period_seconds: float, events: list[ScaleEvent], now: float) -> int:
    cutoff = now - period_seconds
    return sum(e.replica_change for e in events if e.timestamp > cutoff)


def get_longest_policy_period(rules: dict) -> int:
    return max([p["periodSeconds"] for p in rules.get("policies") or []], default=0)


def mark_scale_events_outdated(events: list[ScaleEvent], longest_policy_period: float, now: float) -> None:
    cutoff = now - longest_policy_period
    for e in events:
        if e.timestamp < cutoff:
            e.outdated = True


def calculate_scale_up_limit(current_replicas: int) -> int:
    return int(max(SCALE_UP_LIMIT_FACTOR * current_replicas, SCALE_UP_LIMIT_MINIMUM))


def _policy_limit(current_replicas: int, scale_up_events: list[ScaleEvent], scale_down_events: list[ScaleEvent],
                  rules: dict, now: float, up: bool) -> int:
    """The replica count the policies allow, from the count at the start of each policy's period
    (current minus what was added in it, plus what was removed in it). selectPolicy Max picks the
    policy allowing the biggest change, Min the smallest, Disabled allows none."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current_replicas
    biggest_change = select != "Min"
    # Scaling up, the biggest change is the highest count; scaling down, the lowest.
    pick = max if biggest_change == up else min
    result = INT32_MIN if pick is max else INT32_MAX
    for policy in rules.get("policies") or []:
        added = get_replicas_change_per_period(policy["periodSeconds"], scale_up_events, now)
        deleted = get_replicas_change_per_period(policy["periodSeconds"], scale_down_events, now)
        period_start = current_replicas - added + deleted
        if policy["type"] == "Pods":
            proposed = period_start + policy["value"] if up else period_start - policy["value"]
        elif up:  # rounded up, or a small percentage would never add a pod
            proposed = int(math.ceil(period_start * (1 + policy["value"] / 100)))
        else:  # int32(float): truncated
            proposed = int(period_start * (1 - policy["value"] / 100))
        result = pick(result, proposed)
    return result


def calculate_scale_up_limit_with_scaling_rules(current_replicas: int, scale_up_events: list[ScaleEvent],
                                                scale_down_events: list[ScaleEvent], rules: dict,
                                                now: float) -> int:
    """The most pods the scale-up rules allow."""
    return _policy_limit(current_replicas, scale_up_events, scale_down_events, rules, now, up=True)


def calculate_scale_down_limit_with_behaviors(current_replicas: int, scale_up_events: list[ScaleEvent],
                                              scale_down_events: list[ScaleEvent], rules: dict,
                                              now: float) -> int:
    """The fewest pods the scale-down rules allow."""
    return _policy_limit(current_replicas, scale_up_events, scale_down_events, rules, now, up=False)


def convert_desired_replicas_with_rules(current: int, desired: int, hpa_min: int, hpa_max: int) -> tuple[int, str, str]:
    """The legacy limits: min/max and the scale-up limit max(2 * current, 4)."""
    scale_up_limit = calculate_scale_up_limit(current)
    if hpa_max > scale_up_limit:
        maximum = scale_up_limit
        condition, reason = "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
    else:
        maximum = hpa_max
        condition, reason = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
    if desired < hpa_min:
        return hpa_min, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if desired > maximum:
        return maximum, condition, reason
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


@dataclass
class NormalizationArg:
    scale_up_behavior: dict
    scale_down_behavior: dict
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int


class HorizontalController:
    """One HPA's controller state (recommendations, scale events) and its sync."""

    def __init__(self, downscale_stabilization: float = DEFAULT_DOWNSCALE_STABILIZATION,
                 tolerance: float = DEFAULT_TOLERANCE,
                 cpu_initialization_period: float = DEFAULT_CPU_INITIALIZATION_PERIOD,
                 delay_of_initial_readiness_status: float = DEFAULT_INITIAL_READINESS_DELAY) -> None:
        self.downscale_stabilization = downscale_stabilization
        self.tolerance = tolerance
        self.replica_calc = ReplicaCalculator(cpu_initialization_period, delay_of_initial_readiness_status)
        self.recommendations: list[Recommendation] | None = None
        self.scale_up_events: list[ScaleEvent] = []
        self.scale_down_events: list[ScaleEvent] = []
        self.conditions: dict[str, tuple[str, str, str]] = {}
        self.last_scale_time: float | None = None

    # -- conditions --
    def _set_condition(self, kind: str, status: str, reason: str, message: str) -> None:
        self.conditions[kind] = (status, reason, message)

    # -- the legacy path --
    def stabilize_recommendation(self, prenormalized: int, now: float) -> int:
        if self.recommendations is None:
            self.recommendations = []
        max_rec = prenormalized
        found_old, old_index = False, 0
        cutoff = now - self.downscale_stabilization
        for i, rec in enumerate(self.recommendations):
            if rec.timestamp < cutoff:
                found_old, old_index = True, i
            elif rec.recommendation > max_rec:
                max_rec = rec.recommendation
        if found_old:
            self.recommendations[old_index] = Recommendation(prenormalized, now)
        else:
            self.recommendations.append(Recommendation(prenormalized, now))
        return max_rec

    def normalize_desired_replicas(self, current: int, prenormalized: int, min_replicas: int, max_replicas: int,
                                   now: float) -> tuple[int, int]:
        stabilized = self.stabilize_recommendation(prenormalized, now)
        if stabilized != prenormalized:
            self._set_condition("AbleToScale", "True", "ScaleDownStabilized",
                                "recent recommendations were higher than current one, applying the highest recent recommendation")
        else:
            self._set_condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        desired, condition, reason = convert_desired_replicas_with_rules(current, stabilized, min_replicas, max_replicas)
        self._set_condition("ScalingLimited", "False" if desired == stabilized else "True", condition, reason)
        return desired, stabilized

    # -- the behavior path --
    def stabilize_recommendation_with_behaviors(self, args: NormalizationArg, now: float) -> tuple[int, str, str]:
        if self.recommendations is None:
            self.recommendations = []
        found_old, old_index = False, 0
        up_rec = args.desired_replicas
        up_cutoff = now - args.scale_up_behavior["stabilizationWindowSeconds"]
        down_rec = args.desired_replicas
        down_cutoff = now - args.scale_down_behavior["stabilizationWindowSeconds"]
        for i, rec in enumerate(self.recommendations):
            if rec.timestamp > up_cutoff:
                up_rec = min(rec.recommendation, up_rec)
            if rec.timestamp > down_cutoff:
                down_rec = max(rec.recommendation, down_rec)
            if rec.timestamp < up_cutoff and rec.timestamp < down_cutoff:
                found_old, old_index = True, i
        recommendation = args.current_replicas
        if recommendation < up_rec:
            recommendation = up_rec
        if recommendation > down_rec:
            recommendation = down_rec
        if found_old:
            self.recommendations[old_index] = Recommendation(args.desired_replicas, now)
        else:
            self.recommendations.append(Recommendation(args.desired_replicas, now))
        if args.desired_replicas >= args.current_replicas:
            return (recommendation, "ScaleUpStabilized",
                    "recent recommendations were lower than current one, applying the lowest recent recommendation")
        return (recommendation, "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation")

    def convert_desired_replicas_with_behavior_rate(self, args: NormalizationArg, now: float) -> tuple[int, str, str]:
        if args.desired_replicas > args.current_replicas:
            limit = calculate_scale_up_limit_with_scaling_rules(
                args.current_replicas, self.scale_up_events, self.scale_down_events, args.scale_up_behavior, now)
            if limit < args.current_replicas:
                limit = args.current_replicas  # no further scale-up until the events age out
            maximum = args.max_replicas
            if maximum > limit:
                maximum = limit
                reason, message = "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
            else:
                reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
            if args.desired_replicas > maximum:
                return maximum, reason, message
        elif args.desired_replicas < args.current_replicas:
            limit = calculate_scale_down_limit_with_behaviors(
                args.current_replicas, self.scale_up_events, self.scale_down_events, args.scale_down_behavior, now)
            if limit > args.current_replicas:
                limit = args.current_replicas
            minimum = args.min_replicas
            if minimum < limit:
                minimum = limit
                reason, message = "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
            else:
                reason, message = "TooFewReplicas", "the desired replica count is less than the minimum replica count"
            if args.desired_replicas < minimum:
                return minimum, reason, message
        return args.desired_replicas, "DesiredWithinRange", "the desired count is within the acceptable range"

    def normalize_desired_replicas_with_behaviors(self, behavior: dict, current: int, prenormalized: int,
                                                  min_replicas: int, max_replicas: int, now: float) -> tuple[int, int]:
        scale_down = dict(behavior["scaleDown"])
        if scale_down.get("stabilizationWindowSeconds") is None:  # maybeInitScaleDownStabilizationWindow
            scale_down["stabilizationWindowSeconds"] = self.downscale_stabilization
        args = NormalizationArg(behavior["scaleUp"], scale_down, min_replicas, max_replicas, current, prenormalized)
        stabilized, reason, message = self.stabilize_recommendation_with_behaviors(args, now)
        args.desired_replicas = stabilized
        if stabilized != prenormalized:
            self._set_condition("AbleToScale", "True", reason, message)
        else:
            self._set_condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        desired, reason, message = self.convert_desired_replicas_with_behavior_rate(args, now)
        self._set_condition("ScalingLimited", "False" if desired == stabilized else "True", reason, message)
        return desired, stabilized

    def store_scale_event(self, behavior: dict | None, prev: int, new: int, now: float) -> None:
        if behavior is None:
            return  # the legacy path uses no events
        if new > prev:
            events = self.scale_up_events
            mark_scale_events_outdated(events, get_longest_policy_period(behavior["scaleUp"]), now)
            change = new - prev
        else:
            events = self.scale_down_events
            mark_scale_events_outdated(events, get_longest_policy_period(behavior["scaleDown"]), now)
            change = prev - new
        old = [i for i, e in enumerate(events) if e.outdated]
        event = ScaleEvent(change, now, False)
        if old:
            events[old[-1]] = event
        else:
            events.append(event)

    # -- metrics --
    def _tolerances(self, behavior: dict | None) -> Tolerances:
        down = up = self.tolerance
        if behavior:
            if (behavior.get("scaleDown") or {}).get("tolerance") is not None:
                down = quantity.approx_float(behavior["scaleDown"]["tolerance"])
            if (behavior.get("scaleUp") or {}).get("tolerance") is not None:
                up = quantity.approx_float(behavior["scaleUp"]["tolerance"])
        return Tolerances(down, up)

    def compute_replicas_for_metric(self, spec: dict, metric: dict, spec_replicas: int, status_replicas: int,
                                    pods: list[Pod], client: MetricsClient, tolerances: Tolerances,
                                    now: float) -> MetricResult:
        kind = metric.get("type")
        if kind == "Pods":
            src = metric["pods"]
            target = src["target"]
            result = MetricResult(f"pods metric {src['metric']['name']}", kind, "AverageValue",
                                  quantity.milli(target["averageValue"]))
            values = client.get_raw_metric(src["metric"]["name"], pods, src["metric"].get("selector"))
            result.raw = {k: v.value for k, v in values.items()}
            p = self.replica_calc.get_metric_replicas(spec_replicas, result.target, tolerances, pods, values, now)
        elif kind == "Object":
            src = metric["object"]
            target = src["target"]
            value = client.get_object_metric(src["metric"]["name"], src["describedObject"], src["metric"].get("selector"))
            if target.get("type") == "Value" and target.get("value") is not None:
                result = MetricResult(f"{src['describedObject']['kind']} metric {src['metric']['name']}", kind,
                                      "Value", quantity.milli(target["value"]))
                p = self.replica_calc.get_object_metric_replicas(spec_replicas, result.target, value, tolerances, pods)
            elif target.get("type") == "AverageValue" and target.get("averageValue") is not None:
                # "external metric": upstream's own name for this case (see describe_metric)
                result = MetricResult(f"external metric {src['metric']['name']}", kind, "AverageValue",
                                      quantity.milli(target["averageValue"]))
                p = self.replica_calc.get_object_per_pod_metric_replicas(status_replicas, result.target, value, tolerances)
            else:
                raise MetricsError("invalid object metric source: neither a value target nor an average value target was set")
            result.raw = {"value": value}
        elif kind == "External":
            src = metric["external"]
            target = src["target"]
            values = client.get_external_metric(src["metric"]["name"], src["metric"].get("selector"))
            if target.get("averageValue") is not None:
                result = MetricResult(f"external metric {src['metric']['name']}", kind, "AverageValue",
                                      quantity.milli(target["averageValue"]))
                p = self.replica_calc.get_external_per_pod_metric_replicas(status_replicas, result.target, values, tolerances)
            elif target.get("value") is not None:
                result = MetricResult(f"external metric {src['metric']['name']}", kind, "Value",
                                      quantity.milli(target["value"]))
                p = self.replica_calc.get_external_metric_replicas(spec_replicas, result.target, values, tolerances, pods)
            else:
                raise MetricsError("invalid external metric source: neither a value target nor an average value target was set")
            result.raw = {"values": values}
        elif kind == "Resource":
            src = metric["resource"]
            target = src["target"]
            values = client.get_resource_metric(src["name"], pods)
            if target.get("averageValue") is not None:
                result = MetricResult(f"{src['name']} resource", kind, "AverageValue", quantity.milli(target["averageValue"]))
                p = self.replica_calc.get_raw_resource_replicas(spec_replicas, result.target, src["name"], tolerances,
                                                                pods, values, now)
            elif target.get("averageUtilization") is not None:
                result = MetricResult(f"{src['name']} resource utilization (percentage of request)", kind,
                                      "Utilization", int(target["averageUtilization"]))
                p = self.replica_calc.get_resource_replicas(spec_replicas, result.target, src["name"], tolerances,
                                                            pods, values, now)
            else:
                raise MetricsError("invalid resource metric source: neither an average utilization target "
                                   "nor an average value (usage) target was set")
            result.raw = {k: {"value": v.value, "timestamp": v.timestamp, "window": v.window} for k, v in values.items()}
        else:
            raise MetricsError(f"unknown metric source type {kind!r}")
        result.replicas, result.value, result.proposal = p.replicas, p.usage, p
        return result

    @staticmethod
    def describe_metric(metric: dict) -> tuple[str, str, int]:
        """(name as upstream's status messages say it, target type, target in milli or percent)."""
        kind = metric.get("type")
        src = metric.get(str(kind).lower()) or {}
        target = src.get("target") or {}
        ttype = target.get("type", "")
        if ttype == "Utilization":
            value = int(target.get("averageUtilization") or 0)
        else:
            raw = target.get("averageValue") if ttype == "AverageValue" else target.get("value")
            value = quantity.milli(raw) if raw is not None else 0
        if kind == "Pods":
            name = f"pods metric {src['metric']['name']}"
        elif kind == "Object" and ttype == "AverageValue":
            # Upstream's computeStatusForObjectMetric names this case "external metric" (sic);
            # compute_replicas_for_metric does too, so the name is the same whether it worked.
            name = f"external metric {src['metric']['name']}"
        elif kind == "Object":
            name = f"{src['describedObject']['kind']} metric {src['metric']['name']}"
        elif kind == "External":
            name = f"external metric {src['metric']['name']}"
        elif kind == "Resource":
            name = f"{src['name']} resource" + (" utilization (percentage of request)" if ttype == "Utilization" else "")
        else:
            name = str(kind)
        return name, ttype, value

    _FAILED_REASON = {"Pods": "FailedGetPodsMetric", "Object": "FailedGetObjectMetric",
                      "External": "FailedGetExternalMetric", "Resource": "FailedGetResourceMetric"}

    def compute_replicas_for_metrics(self, spec: dict, spec_replicas: int, status_replicas: int, pods: list[Pod],
                                     client: MetricsClient, now: float) -> tuple[int, str, list[MetricResult], str | None]:
        metrics = spec["metrics"]
        tolerances = self._tolerances(spec.get("behavior"))
        replicas, metric_name = 0, ""
        results: list[MetricResult] = []
        invalid, first_error, first_condition = 0, None, None
        for m in metrics:
            try:
                r = self.compute_replicas_for_metric(spec, m, spec_replicas, status_replicas, pods, client, tolerances, now)
            except MetricsError as e:
                reason = self._FAILED_REASON.get(m.get("type"), "InvalidMetricSourceType")
                try:
                    name, ttype, target = self.describe_metric(m)
                except (KeyError, TypeError, quantity.QuantityError):
                    name, ttype, target = str(m.get("type")), "", 0
                r = MetricResult(name, str(m.get("type")), ttype, target, error=str(e))
                if invalid == 0:
                    first_error = str(e)
                    first_condition = ("ScalingActive", "False", reason,
                                       f"the HPA was unable to compute the replica count: {e}")
                invalid += 1
                results.append(r)
                continue
            results.append(r)
            if replicas == 0 or r.replicas > replicas:
                replicas, metric_name = r.replicas, r.name
        error = None
        if first_error is not None:
            error = f"invalid metrics ({invalid} invalid out of {len(metrics)}), first error is: {first_error}"
        if invalid >= len(metrics) or (invalid > 0 and replicas < spec_replicas):
            self._set_condition(*first_condition)
            return -1, "", results, error
        self._set_condition("ScalingActive", "True", "ValidMetricFound",
                            f"the HPA was able to successfully calculate a replica count from {metric_name}")
        return replicas, metric_name, results, error

    # -- one sync --
    def reconcile(self, hpa: dict, spec_replicas: int, status_replicas: int, pods: list[Pod],
                  client: MetricsClient, now: float) -> SyncResult:
        """reconcileAutoscaler for one HPA (already defaulted by apply_defaults): returns the
        decision; the caller applies desired_replicas to the scale target when rescale is set."""
        spec = hpa["spec"]
        current = spec_replicas
        if self.recommendations is None:  # recordInitialRecommendation
            self.recommendations = [Recommendation(current, now)]
        self._set_condition("AbleToScale", "True", "SucceededGetScale",
                            "the HPA controller was able to get the target's current scale")
        min_replicas = spec.get("minReplicas", 1)
        max_replicas = spec["maxReplicas"]
        behavior = spec.get("behavior")
        desired, reason, rescale = 0, "", True
        recommendation, stabilized = -1, None
        results: list[MetricResult] = []
        error = None
        if current == 0 and min_replicas != 0:
            rescale = False
            self._set_condition("ScalingActive", "False", "ScalingDisabled",
                                "scaling is disabled since the replica count of the target is zero")
        elif current > max_replicas:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", max_replicas
        elif current < min_replicas:
            reason, desired = "Current number of replicas below Spec.MinReplicas", min_replicas
        else:
            recommendation, metric_name, results, error = self.compute_replicas_for_metrics(
                spec, spec_replicas, status_replicas, pods, client, now)
            if error and recommendation == -1:
                return SyncResult(now, current, -1, current, False, "", results, dict(self.conditions), error)
            rescale_metric = ""
            if recommendation > desired:
                desired, rescale_metric = recommendation, metric_name
            if desired > current:
                reason = f"{rescale_metric} above target"
            if desired < current:
                reason = "All metrics below target"
            if behavior is None:
                desired, stabilized = self.normalize_desired_replicas(current, desired, min_replicas, max_replicas, now)
            else:
                desired, stabilized = self.normalize_desired_replicas_with_behaviors(
                    behavior, current, desired, min_replicas, max_replicas, now)
            rescale = desired != current
        if rescale:
            self._set_condition("AbleToScale", "True", "SucceededRescale",
                                f"the HPA controller was able to update the target scale to {desired}")
            self.store_scale_event(behavior, current, desired, now)
            self.last_scale_time = now
        else:
            desired = current
        return SyncResult(now, current, recommendation, desired, rescale, reason, results, dict(self.conditions),
                          error, stabilized)
