#!/usr/bin/env python3
"""Offline checks of deploy/ with real tools, no cluster needed.

1. `kubectl kustomize` renders deploy/ (the default route), deploy/base and every overlay
   (every directory under deploy/ with a kustomization.yaml of kind Kustomization).
2. `kubernetes-validate --strict` passes every built-in object of every rendering, for the
   oldest Kubernetes version it ships from 1.29 on and for the newest.
3. `check-jsonschema` passes every custom resource against the strict schema in
   ../shared/schemas/jsonschema (<kind>-<first part of the group>-<version>-strict.json). A
   custom resource without a schema fails, and so does the check when ../shared/schemas is
   missing.
4. Consistency: the chart values (values.yaml) are what scripts/ship/adapter_values.py
   generates from the Prometheus Adapter rules in the ConfigMap fragment; every HPA metric
   served by the adapter has a rule that yields its name; the Service, ServiceMonitor, probes
   and container port agree with the app; the grace period covers preStop plus the app's drain
   deadline; the image is IMAGE:TAG; every rendered HPA and every KEDA ScaledObject has the
   behavior of deploy/components/hpa-behavior/behavior.yaml (written once there).

Prints one PASS/FAIL line per check and a closing `ship-manifests: N passed, M failed` line;
exits 1 when anything failed.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from lab.prometheus import adapter_rules, derived_name  # noqa: E402
import adapter_values  # noqa: E402  (beside this script)
from checks import record, summary  # noqa: E402

DEPLOY = ROOT / "deploy"

# API groups whose kinds Kubernetes itself serves; everything else is a custom resource.
BUILTIN_GROUPS = {
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io",
    "node.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
}

# The behavior of every autoscaler, written once: the component patches it into each HPA; the
# KEDA ScaledObjects repeat it (they take no HPA patch) and must match it.
BEHAVIOR_PATCH = DEPLOY / "components/hpa-behavior/behavior.yaml"
EXPECTED_BEHAVIOR = yaml.safe_load(BEHAVIOR_PATCH.read_text())["spec"]["behavior"]


def group_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def kustomization_roots() -> list[Path]:
    roots = []
    for path in sorted(DEPLOY.rglob("kustomization.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc.get("kind", "Kustomization") == "Kustomization":
            roots.append(path.parent)
    return roots


def render(kubectl: str, root: Path) -> list[dict] | None:
    proc = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True, text=True)
    rel = root.relative_to(ROOT)
    if proc.returncode != 0:
        record(False, f"kustomize renders {rel}", proc.stderr.strip())
        return None
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    record(bool(docs), f"kustomize renders {rel} ({len(docs)} objects)", "empty rendering")
    return docs


def k8s_versions() -> list[str]:
    from kubernetes_validate import utils

    versions = sorted({v for v in utils.all_versions()}, key=lambda v: tuple(map(int, v.split("."))))
    recent = [v for v in versions if tuple(map(int, v.split(".")))[:2] >= (1, 29)]
    if not recent:
        raise SystemExit("kubernetes-validate ships no schema for Kubernetes 1.29 or later")
    return sorted({recent[0], recent[-1]}, key=lambda v: tuple(map(int, v.split("."))))


def write_docs(dest: Path, name: str, docs: list[dict]) -> list[tuple[dict, Path]]:
    out = []
    for i, doc in enumerate(docs):
        path = dest / f"{name}--{i:02d}-{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        out.append((doc, path))
    return out


def validate_builtins(tool: str, rel: str, files: list[Path], versions: list[str]) -> None:
    for version in versions:
        proc = subprocess.run([tool, "--strict", "-k", version, *map(str, files)],
                              capture_output=True, text=True)
        output = (proc.stdout + proc.stderr).strip()
        problems = [l for l in output.splitlines() if not l.startswith("INFO")]
        ok = proc.returncode == 0 and not problems
        record(ok, f"kubernetes-validate --strict {version}: {rel} ({len(files)} built-in objects)",
               "\n      ".join(problems) or output)


def schema_for(schemas: Path, doc: dict) -> Path:
    group, version = group_version(doc["apiVersion"])
    return schemas / f"{doc['kind'].lower()}-{group.split('.')[0]}-{version}-strict.json"


def validate_custom(tool: str, schemas: Path, rel: str, items: list[tuple[dict, Path]]) -> None:
    for doc, path in items:
        schema = schema_for(schemas, doc)
        what = f"check-jsonschema {doc['kind']} {doc['metadata']['name']} ({doc['apiVersion']}) in {rel}"
        if not schema.is_file():
            record(False, what, f"no schema {schema} for this custom resource")
            continue
        proc = subprocess.run([tool, "--schemafile", str(schema), str(path)], capture_output=True, text=True)
        record(proc.returncode == 0, f"{what} against {schema.name}", (proc.stdout + proc.stderr).strip())


# ---- consistency ----------------------------------------------------------------------------

def adapter_metric_names(rules: list[dict]) -> set[str]:
    """The metric names the adapter derives (lab.prometheus.derived_name: name.matches/as)."""
    names = set()
    for rule in rules:
        query = rule["seriesQuery"]
        if query.startswith("{"):  # a {__name__=~...} query: the rule must name its metric with `as`
            as_ = rule.get("name", {}).get("as", "")
            if as_ and "$" not in as_:
                names.add(as_)
            continue
        name = derived_name(rule, re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", query).group(0))
        if name:
            names.add(name)
    return names


def consistency(renderings: dict[str, list[dict]], image: str) -> None:
    values = adapter_values.VALUES
    record(values.is_file() and values.read_text() == adapter_values.render(),
           "Prometheus Adapter rules: values.yaml is generated from rules-configmap.yaml",
           "values.yaml differs from what scripts/ship/adapter_values.py writes: run `make adapter-values`")
    served = adapter_metric_names(adapter_rules())
    record({"http_requests_per_second", "http_request_duration_seconds_p95",
            "kong_upstream_latency_ms_60s_average", "kong_upstream_requests_per_second"} <= served,
           f"Prometheus Adapter rules yield {sorted(served)}", "a metric name is missing")

    dockerfile = (ROOT / "Dockerfile").read_text()
    exposed = re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M)

    for rel, docs in renderings.items():
        by_kind: dict[str, list[dict]] = {}
        for d in docs:
            by_kind.setdefault(d["kind"], []).append(d)
        problems = []
        deployment = next(d for d in by_kind.get("Deployment", []) if d["metadata"]["name"] == "metrics-app")
        pod = deployment["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == "metrics-app")
        if container["image"] != image:
            problems.append(f"image {container['image']} is not {image}")
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        if ports.get("http") != 8080 or [str(ports.get("http"))] != exposed:
            problems.append(f"container port http={ports.get('http')} vs the app's 8080 / Dockerfile EXPOSE {exposed}")
        if container["livenessProbe"]["httpGet"]["path"] != "/healthz" or \
                container["readinessProbe"]["httpGet"]["path"] != "/readyz":
            problems.append("probes must use /healthz (liveness) and /readyz (readiness)")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        drain = int(env.get("METRICS_APP_SHUTDOWN_TIMEOUT", "25"))
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pre_stop_s = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace <= drain + pre_stop_s:
            problems.append(f"terminationGracePeriodSeconds {grace} <= preStop {pre_stop_s}s + drain {drain}s")
        for svc in by_kind.get("Service", []):
            names = {p["name"] for p in svc["spec"]["ports"]}
            for p in svc["spec"]["ports"]:
                if isinstance(p.get("targetPort"), str) and p["targetPort"] not in ports:
                    problems.append(f"Service targetPort {p['targetPort']} is no container port")
            for sm in by_kind.get("ServiceMonitor", []):
                if sm["metadata"]["namespace"] != svc["metadata"]["namespace"]:
                    continue
                for ep in sm["spec"]["endpoints"]:
                    if ep.get("port") not in names or ep.get("path", "/metrics") != "/metrics":
                        problems.append(f"ServiceMonitor endpoint {ep} does not match Service ports {names}")
        for hpa in by_kind.get("HorizontalPodAutoscaler", []):
            spec = hpa["spec"]
            if (spec["minReplicas"], spec["maxReplicas"]) != (1, 10) or spec.get("behavior") != EXPECTED_BEHAVIOR:
                problems.append(f"HPA {hpa['metadata']['name']}: min/max differ from 1/10 or behavior from "
                                f"{BEHAVIOR_PATCH.relative_to(ROOT)}")
            for m in spec["metrics"]:
                if m["type"] in ("Pods", "Object"):
                    name = m[m["type"].lower()]["metric"]["name"]
                    if name not in served:
                        problems.append(f"HPA metric {name} is served by no Prometheus Adapter rule")
        for so in by_kind.get("ScaledObject", []):
            spec = so["spec"]
            if (spec.get("minReplicaCount"), spec.get("maxReplicaCount")) != (1, 10) or \
                    spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior") != EXPECTED_BEHAVIOR:
                problems.append(f"ScaledObject {so['metadata']['name']}: min/max differ from 1/10 or behavior "
                                f"from {BEHAVIOR_PATCH.relative_to(ROOT)}")
        record(not problems, f"consistency of {rel} (image, ports, probes, grace period, autoscaler)",
               "\n      ".join(problems))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubectl", default="kubectl")
    ap.add_argument("--kubernetes-validate", default="kubernetes-validate")
    ap.add_argument("--check-jsonschema", default="check-jsonschema")
    ap.add_argument("--schemas", default=str(ROOT.parent / "shared/schemas/jsonschema"))
    version = (ROOT / "VERSION").read_text().strip()
    ap.add_argument("--image", default=f"metrics-app:{version}", help="the image every rendering must use")
    args = ap.parse_args()

    for tool in (args.kubectl, args.kubernetes_validate, args.check_jsonschema):
        if not shutil.which(tool):
            print(f"FAIL  {tool} not found: run `make -f mk/ship.mk ship-deps` (or `make deps-ship`) to install it")
            return 1

    versions = k8s_versions()
    print(f"kubernetes-validate versions: {', '.join(versions)} (oldest from 1.29 on, newest)")
    schemas = Path(args.schemas)
    have_schemas = schemas.is_dir()

    renderings: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="ship-manifests-") as tmp:
        tmpdir = Path(tmp)
        custom_seen = 0
        for root in kustomization_roots():
            rel = str(root.relative_to(ROOT))
            docs = render(args.kubectl, root)
            if docs is None:
                continue
            renderings[rel] = docs
            items = write_docs(tmpdir, rel.replace("/", "_"), docs)
            builtin = [p for d, p in items if group_version(d["apiVersion"])[0] in BUILTIN_GROUPS]
            custom = [(d, p) for d, p in items if group_version(d["apiVersion"])[0] not in BUILTIN_GROUPS]
            custom_seen += len(custom)
            validate_builtins(args.kubernetes_validate, rel, builtin, versions)
            if have_schemas:
                validate_custom(args.check_jsonschema, schemas, rel, custom)
        # The adapter ConfigMap fragment is a built-in object outside any kustomization.
        fragment = DEPLOY / "prometheus-adapter/rules-configmap.yaml"
        validate_builtins(args.kubernetes_validate, str(fragment.relative_to(ROOT)), [fragment], versions)
        if not have_schemas:
            record(False, f"check-jsonschema of {custom_seen} custom resources: {schemas} does not exist",
                   "the schemas live outside the project, in ../shared/schemas beside the clone "
                   "(CI lays shared/ there); set SHIP_SCHEMAS=DIR (make) or --schemas DIR to use another copy")

    consistency(renderings, args.image)

    return summary("ship-manifests")


if __name__ == "__main__":
    sys.exit(main())
