"""The mixin's rules and deployable files: current with the generator, parsed and unit-tested by
promtool (mixin/tests/alerts.test.yaml: every alert fires, and not one evaluation earlier), the
naming and annotation conventions, runbook sections that exist, and the kustomize component
(PrometheusRule against the CRD's schema, the dashboard ConfigMap for Grafana's sidecar)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mixin import rules
from mixin.generate import COMPONENT, DASHBOARD_FILE, ROOT, RULE_FILE

TESTS = Path(__file__).resolve().parent
KUBECTL = os.environ.get("MIXIN_KUBECTL", str(ROOT / ".venv/bin/kubectl"))
CHECK_JSONSCHEMA = os.environ.get("MIXIN_CHECK_JSONSCHEMA", str(ROOT / ".venv/bin/check-jsonschema"))
SCHEMAS = Path(os.environ.get("SHIP_SCHEMAS", str(ROOT.parent / "shared/schemas/jsonschema")))
if not SCHEMAS.is_absolute():
    SCHEMAS = ROOT / SCHEMAS


def promtool() -> str:
    tool = shutil.which("promtool")
    if not tool:
        pytest.fail("promtool not found (Debian package prometheus: apt-get install prometheus; make deps-test)")
    return tool


def groups() -> list[dict]:
    return yaml.safe_load(RULE_FILE.read_text())["spec"]["groups"]


def all_rules() -> list[dict]:
    return [r for g in groups() for r in g["rules"]]


@pytest.fixture
def rule_dir(tmp_path: Path) -> Path:
    """The PrometheusRule's groups as a plain rules file, beside a copy of the promtool test."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups()}, sort_keys=False))
    shutil.copy(TESTS / "alerts.test.yaml", tmp_path)
    return tmp_path


def test_generated_files_are_current():
    proc = subprocess.run([sys.executable, "-m", "mixin.generate", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_promtool_check_rules(rule_dir):
    proc = subprocess.run([promtool(), "check", "rules", "rules.yaml"], cwd=rule_dir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(all_rules())} rules found" in proc.stdout


def test_promtool_test_rules(rule_dir):
    proc = subprocess.run([promtool(), "test", "rules", "alerts.test.yaml"], cwd=rule_dir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_test_rules_fails_on_a_changed_threshold(rule_dir):
    """The unit tests pin the thresholds: 5% -> 10% error ratio and they fail."""
    text = (rule_dir / "rules.yaml").read_text().replace("> 0.05", "> 0.1")
    (rule_dir / "rules.yaml").write_text(text)
    proc = subprocess.run([promtool(), "test", "rules", "alerts.test.yaml"], cwd=rule_dir, capture_output=True, text=True)
    assert proc.returncode != 0 and "MetricsAppHighErrorRatio" in proc.stdout + proc.stderr


def test_every_alert_fires_in_a_test_and_not_one_evaluation_before():
    tests = yaml.safe_load((TESTS / "alerts.test.yaml").read_text())["tests"]
    cases: dict[str, list[tuple[int, bool]]] = {}
    for t in tests:
        for case in t.get("alert_rule_test", []):
            minutes = int(case["eval_time"].rstrip("m"))
            cases.setdefault(case["alertname"], []).append((minutes, bool(case["exp_alerts"])))
    for name in rules.ALERTS:
        fires = {m for m, fired in cases.get(name, []) if fired}
        silent = {m for m, fired in cases.get(name, []) if not fired}
        assert fires, f"{name}: no promtool case where it fires"
        assert any(m - 1 in silent for m in fires), f"{name}: no case one evaluation before it fires"


def test_alert_names_and_conventions():
    alerts = [r for r in all_rules() if "alert" in r]
    assert sorted({a["alert"] for a in alerts}) == sorted(rules.ALERTS)
    for a in alerts:
        assert re.fullmatch(r"MetricsApp(Hpa)?[A-Z][A-Za-z]+", a["alert"]), a["alert"]
        assert a["labels"]["severity"] in ("warning", "critical"), a
        assert {"summary", "description", "runbook_url"} <= set(a["annotations"]), a["alert"]


def test_recording_rule_names_are_level_metric_operations():
    records = [r["record"] for r in all_rules() if "record" in r]
    assert records
    for name in records:
        assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", name), name
    # every recording rule is read by another rule (none is recorded for nothing)
    for name in records:
        assert any(name in r["expr"] for r in all_rules() if r.get("record") != name), name


def _anchors(markdown: str) -> set[str]:
    """Heading anchors as GitHub renders them: lower case, punctuation dropped, spaces to -."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+\s+(.*)$", markdown, re.M)}


def test_runbook_urls_point_at_sections_that_exist():
    for a in (r for r in all_rules() if "alert" in r):
        doc, _, anchor = a["annotations"]["runbook_url"].partition("#")
        path = ROOT / doc
        assert path.exists(), f"{a['alert']}: {doc} does not exist"
        assert anchor in _anchors(path.read_text()), f"{a['alert']}: no section #{anchor} in {doc}"


@pytest.fixture(scope="module")
def component(tmp_path_factory) -> list[dict]:
    if not Path(KUBECTL).exists():
        pytest.fail(f"{KUBECTL} not found (make deps-ship installs kubectl into .venv)")
    root = tmp_path_factory.mktemp("kustomize")
    (root / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "components": [os.path.relpath(COMPONENT, root)]}))
    proc = subprocess.run([KUBECTL, "kustomize", str(root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def test_component_renders_the_rule_and_the_dashboard_configmap(component):
    kinds = sorted(d["kind"] for d in component)
    assert kinds == ["ConfigMap", "PrometheusRule"]
    cm = next(d for d in component if d["kind"] == "ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["name"] == "metrics-app-dashboard" and cm["metadata"]["namespace"] == "demo-ns"
    assert json.loads(cm["data"][DASHBOARD_FILE.name]) == json.loads(DASHBOARD_FILE.read_text())
    rule = next(d for d in component if d["kind"] == "PrometheusRule")
    assert rule["spec"]["groups"] == groups()


def crd_model_problems(doc: dict) -> list[str]:
    """What the prometheus-operator CRD's schema refuses in a PrometheusRule `doc`, through the
    models generated from that CRD's openAPIV3Schema (PyPI cloudcoil-models-prometheus-operator,
    pinned in mixin/requirements.txt): type, pattern and required-field errors, and, as the API
    server's strict field validation does, every field the schema does not know (the models drop
    unknown fields, so a round trip that changes the document names them)."""
    try:
        import pydantic
        from cloudcoil.models.prometheus_operator.v1 import PrometheusRule
    except ImportError as error:
        pytest.fail(f"{error}: the CRD models come from mixin/requirements.txt "
                    "(make deps-mixin, or .venv/bin/pip install -r mixin/requirements.txt)")

    try:
        parsed = PrometheusRule.model_validate(doc)
    except pydantic.ValidationError as error:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
    kept = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")

    def unknown(given, known, path: str) -> list[str]:
        if isinstance(given, dict) and isinstance(known, dict):
            return [f"{path}.{k}: unknown field" for k in given if k not in known] + [
                p for k in given if k in known for p in unknown(given[k], known[k], f"{path}.{k}")]
        if isinstance(given, list) and isinstance(known, list):
            return [p for i, (g, k) in enumerate(zip(given, known)) for p in unknown(g, k, f"{path}[{i}]")]
        return []

    return unknown(doc, kept, "")


def test_prometheus_rule_against_the_crd_schema(component, tmp_path):
    """The PrometheusRule against its CRD's schema, strict as the API server's field validation.
    ../shared/schemas carries no PrometheusRule schema (its README lists what it has), so the
    check uses the models generated from prometheus-operator's CRD (v0.80.1); once
    shared/schemas has prometheusrule-monitoring-v1-strict.json, check-jsonschema checks it too.
    A copy with a bad duration and a misspelt field must be refused by each."""
    rule = next(d for d in component if d["kind"] == "PrometheusRule")
    broken = json.loads(json.dumps(rule))
    broken["spec"]["groups"][0]["rules"][-1]["for"] = "5 minutes"
    broken["spec"]["groups"][0]["rules"][0]["recrod"] = "typo"
    assert crd_model_problems(rule) == []
    problems = crd_model_problems(broken)
    assert len(problems) == 1 and problems[0].endswith(".for: String should match pattern "
                                                        "'^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?"
                                                        "(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$'"), problems
    del broken["spec"]["groups"][0]["rules"][-1]["for"]
    assert crd_model_problems(broken) == [".spec.groups[0].rules[0].recrod: unknown field"]

    schema = SCHEMAS / "prometheusrule-monitoring-v1-strict.json"
    if not SCHEMAS.is_dir():
        pytest.fail(f"{SCHEMAS} is missing: the CRD schemas live in ../shared/schemas beside the project "
                    "(set SHIP_SCHEMAS=DIR to use another copy)")
    if schema.exists():
        good, bad = tmp_path / "rule.yaml", tmp_path / "bad.yaml"
        good.write_text(yaml.safe_dump(rule))
        bad.write_text(yaml.safe_dump(broken))
        ok = subprocess.run([CHECK_JSONSCHEMA, "--schemafile", str(schema), str(good)], capture_output=True, text=True)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        no = subprocess.run([CHECK_JSONSCHEMA, "--schemafile", str(schema), str(bad)], capture_output=True, text=True)
        assert no.returncode != 0


def test_configmap_is_a_valid_kubernetes_object(component, tmp_path):
    tool = ROOT / ".venv/bin/kubernetes-validate"
    cm = next(d for d in component if d["kind"] == "ConfigMap")
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump(cm))
    proc = subprocess.run([str(tool), "--strict", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
