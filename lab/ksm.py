"""What the lab's HPA decided, under kube-state-metrics' names, on a /metrics endpoint the lab's
Prometheus scrapes: PromQL written for kube-state-metrics in a cluster works against the lab.

kube_horizontalpodautoscaler_{info, spec_min_replicas, spec_max_replicas, spec_target_metric,
status_target_metric, status_current_replicas, status_desired_replicas, status_condition},
labelled namespace and horizontalpodautoscaler like kube-state-metrics' HPA collector.
"""
from __future__ import annotations

import threading

from lab.prometheus import MetricsEndpoint

_TARGET_TYPE = {"Value": "value", "AverageValue": "average", "Utilization": "utilization"}
_HELP = {
    "kube_horizontalpodautoscaler_info": "Information about this autoscaler.",
    "kube_horizontalpodautoscaler_spec_min_replicas": "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
    "kube_horizontalpodautoscaler_spec_max_replicas": "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
    "kube_horizontalpodautoscaler_spec_target_metric": "The metric specifications used by this autoscaler when calculating the desired replica count.",
    "kube_horizontalpodautoscaler_status_target_metric": "The current metric status used by this autoscaler when calculating the desired replica count.",
    "kube_horizontalpodautoscaler_status_current_replicas": "Current number of replicas of pods managed by this autoscaler.",
    "kube_horizontalpodautoscaler_status_desired_replicas": "Desired number of replicas of pods managed by this autoscaler.",
    "kube_horizontalpodautoscaler_status_condition": "The condition of this autoscaler.",
}


def _labels(d: dict[str, str]) -> str:
    def esc(v: str) -> str:
        return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in d.items()) + "}"


def _metric_name(m: dict) -> str:
    kind = m["type"]
    if kind == "Resource":
        return m["resource"]["name"]
    return m[kind.lower()]["metric"]["name"]


def _target(m: dict) -> tuple[str, str, float]:
    """(ksm target type, spec target type, value) of a metric spec."""
    from lab import quantity
    t = m[m["type"].lower()]["target"]
    kind = t["type"]
    if kind == "Utilization":
        return "utilization", kind, float(t["averageUtilization"])
    value = t["averageValue"] if kind == "AverageValue" else t["value"]
    return _TARGET_TYPE[kind], kind, quantity.milli(value) / 1000


class KubeStateMetrics:
    def __init__(self, hpa: dict) -> None:
        self.hpa = hpa
        self.current = 0
        self.desired = 0
        self.metric_values: list[float | None] = []
        self.conditions: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.Lock()
        self.endpoint = MetricsEndpoint(self.render, "ksm")
        self.port = self.endpoint.port

    def update(self, current: int, desired: int, metric_values: list[float | None],
               conditions: dict[str, tuple[str, str, str]]) -> None:
        with self._lock:
            self.current, self.desired = current, desired
            self.metric_values = list(metric_values)
            self.conditions = dict(conditions)

    def render(self) -> str:
        meta, spec = self.hpa["metadata"], self.hpa["spec"]
        base = {"namespace": meta.get("namespace", "default"), "horizontalpodautoscaler": meta["name"]}
        with self._lock:
            current, desired = self.current, self.desired
            values, conditions = list(self.metric_values), dict(self.conditions)
        lines: list[str] = []

        def family(name: str, samples: list[tuple[dict, float]]) -> None:
            lines.append(f"# HELP {name} {_HELP[name]}")
            lines.append(f"# TYPE {name} gauge")
            for labels, value in samples:
                lines.append(f"{name}{_labels({**base, **labels})} {value:g}")

        ref = spec["scaleTargetRef"]
        family("kube_horizontalpodautoscaler_info", [({
            "scaletargetref_api_version": ref.get("apiVersion", ""), "scaletargetref_kind": ref["kind"],
            "scaletargetref_name": ref["name"]}, 1)])
        family("kube_horizontalpodautoscaler_spec_min_replicas", [({}, spec.get("minReplicas", 1))])
        family("kube_horizontalpodautoscaler_spec_max_replicas", [({}, spec["maxReplicas"])])
        targets, statuses = [], []
        for i, m in enumerate(spec["metrics"]):
            ksm_type, _, value = _target(m)
            labels = {"metric_name": _metric_name(m), "metric_target_type": ksm_type}
            targets.append((labels, value))
            if i < len(values) and values[i] is not None:
                statuses.append((labels, values[i]))
        family("kube_horizontalpodautoscaler_spec_target_metric", targets)
        family("kube_horizontalpodautoscaler_status_target_metric", statuses)
        family("kube_horizontalpodautoscaler_status_current_replicas", [({}, current)])
        family("kube_horizontalpodautoscaler_status_desired_replicas", [({}, desired)])
        cond = []
        for kind, (status, _reason, _msg) in sorted(conditions.items()):
            for s in ("true", "false", "unknown"):
                cond.append(({"condition": kind, "status": s}, 1 if status.lower() == s else 0))
        family("kube_horizontalpodautoscaler_status_condition", cond)
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.endpoint.stop()
