"""Scenarios (lab/scenarios/*.yaml) and the manifests they run: the kustomized Deployment and
ServiceMonitor, and the autoscaler (an autoscaling/v2 HPA, or a KEDA ScaledObject turned into the
HPA that KEDA creates for it).

A scenario file:
  description: what it shows
  deploy: deploy/overlays/latency   # the kustomization: Deployment, ServiceMonitor, autoscaler
  autoscaler: deploy/hpa.yaml       # optional: the HPA/ScaledObject manifest (else the one in deploy)
  start_latency: 3                  # seconds from pod creation to a running container
  app_args: [--cpu-work, "20"]      # optional extra metrics-app flags for every pod
  phases:                           # load steps, in scenario seconds
    - {name: idle, seconds: 60, rps: 0}
    - {name: load, seconds: 360, rps: 20}
    - {name: cool-down, rps: 0, until: min_replicas, max_seconds: 900}
  faults:                           # optional: fault steps in scenario seconds (lab/faults.py)
    - {type: pod_crash, at: 300}
  expect: {steady_replicas: 4}      # optional: summary.json and the last lines say whether it was met
                                    # (the default scenario's is asserted by lab/tests); a value
                                    # {min: a, max: b} accepts a number in that range; besides any
                                    # summary key: alerts_fired: [MetricsAppHpaMaxedOut] (each reached
                                    # the lab's Alertmanager during the run), no_alerts: true (none did)
A phase with `until: min_replicas` lasts until the HPA is back at minReplicas with every pod
ready (one more sync after that), or max_seconds.
"""
from __future__ import annotations

import copy
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lab.controller import apply_defaults
from lab.faults import Fault, FaultError, parse_faults
from lab.prometheus import ROOT

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class ScenarioError(Exception):
    pass


@dataclass
class Phase:
    name: str
    rps: float
    seconds: float | None = None
    until: str | None = None
    max_seconds: float | None = None


@dataclass
class Scenario:
    name: str
    description: str
    deploy: str
    autoscaler: str | None
    start_latency: float
    app_args: list[str]
    phases: list[Phase]
    expect: dict = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)

    @property
    def planned_seconds(self) -> float:
        return sum(p.seconds if p.seconds is not None else (p.max_seconds or 0) for p in self.phases)


def load_scenario(name_or_path: str) -> Scenario:
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIOS / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
        raise ScenarioError(f"no scenario {name_or_path!r} (known: {known})")
    doc = yaml.safe_load(path.read_text())
    try:
        faults = parse_faults(doc.get("faults"), str(path))
    except FaultError as e:
        raise ScenarioError(str(e)) from e
    phases = []
    for p in doc["phases"]:
        if p.get("seconds") is None and p.get("until") != "min_replicas":
            raise ScenarioError(f"{path}: phase {p.get('name')} needs seconds or until: min_replicas")
        phases.append(Phase(p.get("name", "phase"), float(p.get("rps", 0)), p.get("seconds"), p.get("until"),
                            p.get("max_seconds", 1800)))
    return Scenario(path.stem, doc.get("description", "").strip(), doc["deploy"], doc.get("autoscaler"),
                    float(doc.get("start_latency", 3)), [str(a) for a in doc.get("app_args", [])], phases,
                    doc.get("expect", {}), faults)


def kustomize(directory: str, kubectl: str) -> list[dict]:
    """kubectl kustomize <directory>: the objects the Deployment's pods are made from."""
    try:
        out = subprocess.run([kubectl, "kustomize", str(ROOT / directory)], check=True, capture_output=True,
                             text=True).stdout
    except FileNotFoundError as e:
        raise ScenarioError(f"{kubectl} not found (make deps-ship installs kubectl into .venv)") from e
    except subprocess.CalledProcessError as e:
        raise ScenarioError(f"kubectl kustomize {directory} failed: {e.stderr.strip()}") from e
    return [d for d in yaml.safe_load_all(out) if d]


def find(objects: list[dict], kind: str) -> dict | None:
    found = [o for o in objects if o.get("kind") == kind]
    if len(found) > 1:
        raise ScenarioError(f"more than one {kind}: {[o['metadata']['name'] for o in found]}")
    return found[0] if found else None


def keda_metric_name(index: int, trigger: dict) -> str:
    """The External metric name KEDA gives a trigger: s<index>-<type>."""
    return f"s{index}-{trigger['type']}"


def hpa_from_scaled_object(so: dict) -> dict:
    """The HPA KEDA creates for a ScaledObject: min/maxReplicaCount, one External metric per trigger
    (AverageValue = threshold unless metricType: Value), advanced.horizontalPodAutoscalerConfig's
    name and behavior."""
    spec = so["spec"]
    advanced = (spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}
    metrics = []
    for i, trig in enumerate(spec["triggers"]):
        if trig["type"] != "prometheus":
            raise ScenarioError(f"trigger {trig['type']}: the lab runs prometheus triggers only")
        kind = trig.get("metricType", "AverageValue")
        target = {"type": kind, ("averageValue" if kind == "AverageValue" else "value"): str(trig["metadata"]["threshold"])}
        metrics.append({"type": "External", "external": {
            "metric": {"name": keda_metric_name(i, trig),
                       "selector": {"matchLabels": {"scaledobject.keda.sh/name": so["metadata"]["name"]}}},
            "target": target}})
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": advanced.get("name") or f"keda-hpa-{so['metadata']['name']}",
                     "namespace": so["metadata"].get("namespace", "default")},
        "spec": {"scaleTargetRef": copy.deepcopy(spec["scaleTargetRef"]),
                 "minReplicas": max(1, int(spec.get("minReplicaCount", 0))),
                 "maxReplicas": int(spec.get("maxReplicaCount", 100)),
                 "metrics": metrics},
    }
    if advanced.get("behavior") is not None:
        hpa["spec"]["behavior"] = copy.deepcopy(advanced["behavior"])
    return hpa


@dataclass
class Manifests:
    deployment: dict
    service_monitor: dict
    hpa: dict  # defaulted, as the API server stores it
    scaled_object: dict | None
    source: str  # where the autoscaler came from
    # The ServiceMonitor of Kong Operator's /metrics, when the kustomization puts metrics-app
    # behind Kong (deploy/overlays/kong): the lab then serves Kong's upstream latency (lab/kong.py).
    kong_monitor: dict | None = None


def service_monitors(objects: list[dict], deployment: dict) -> tuple[dict | None, dict | None]:
    """The app's ServiceMonitor (in the Deployment's namespace) and Kong Operator's, if any."""
    namespace = deployment["metadata"].get("namespace", "default")
    monitors = [o for o in objects if o.get("kind") == "ServiceMonitor"]
    app = [m for m in monitors if m["metadata"].get("namespace", "default") == namespace]
    kong = [m for m in monitors if m not in app and m["metadata"]["name"] == "kong-operator"]
    others = [m["metadata"]["name"] for m in monitors if m not in app and m not in kong]
    if len(app) > 1 or others:
        raise ScenarioError(f"ServiceMonitors the lab cannot place: {[m['metadata']['name'] for m in app[1:]] + others}")
    return (app[0] if app else None), (kong[0] if kong else None)


def load_manifests(scenario: Scenario, kubectl: str, hpa_file: str | None = None) -> Manifests:
    objects = kustomize(scenario.deploy, kubectl)
    deployment = find(objects, "Deployment")
    sm, kong_monitor = service_monitors(objects, deployment) if deployment else (None, None)
    if deployment is None or sm is None:
        raise ScenarioError(f"{scenario.deploy} has no Deployment or no ServiceMonitor")
    source = hpa_file or scenario.autoscaler
    if source:
        path = Path(source) if Path(source).is_absolute() else (Path.cwd() / source if (Path.cwd() / source).exists()
                                                                 else ROOT / source)
        if not path.exists():
            raise ScenarioError(f"HPA manifest {source} not found")
        auto = [d for d in yaml.safe_load_all(path.read_text()) if d]
        source = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    else:
        auto = objects
        source = f"{scenario.deploy} (kustomize)"
    hpa, so = find(auto, "HorizontalPodAutoscaler"), find(auto, "ScaledObject")
    if hpa and so:
        raise ScenarioError(f"{source} has both an HPA and a ScaledObject")
    if so:
        hpa = hpa_from_scaled_object(so)
    if hpa is None:
        raise ScenarioError(f"{source} has no HorizontalPodAutoscaler or ScaledObject")
    if hpa.get("apiVersion") != "autoscaling/v2":
        raise ScenarioError(f"{source}: the lab runs autoscaling/v2 HPAs, not {hpa.get('apiVersion')}")
    ref = hpa["spec"].get("scaleTargetRef", {})
    if ref.get("kind") != "Deployment" or ref.get("name") != deployment["metadata"]["name"]:
        raise ScenarioError(f"{source}: scaleTargetRef {ref} is not Deployment/{deployment['metadata']['name']}")
    if "maxReplicas" not in hpa["spec"]:
        raise ScenarioError(f"{source}: spec.maxReplicas is required")
    return Manifests(deployment, sm, apply_defaults(hpa), so, source, kong_monitor)
