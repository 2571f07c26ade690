"""One scenario run for a test module: the tools checked (a missing one fails, saying how to
install it), the scenario run at `speed` into .build-lab/<out_name>, or, with LAB_CHECK_RUN=<folder>,
an earlier run's outputs checked instead (debugging the assertions, or showing that they fail on
a run that did not go as the scenario must)."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from lab.alertmanager import BINARY as ALERTMANAGER
from lab.prometheus import ROOT, require_tool
from lab.run import run
from lab.scenarios import Manifests, load_manifests, load_scenario


def run_scenario(name: str, speed: float, out_name: str) -> tuple[dict, Manifests, Path]:
    app = os.environ.get("LAB_APP", str(ROOT / ".build/debug/metrics-app"))
    kubectl = os.environ.get("LAB_KUBECTL", str(ROOT / ".venv/bin/kubectl"))
    for tool, how in ((app, "swift build --product metrics-app"), (kubectl, "make deps-ship"),
                      ("prometheus", "apt-get install prometheus"),
                      (ALERTMANAGER, "apt-get install prometheus-alertmanager")):
        if problem := require_tool(tool, how):
            pytest.fail(problem)
    scenario = load_scenario(name)
    manifests = load_manifests(scenario, kubectl)
    if os.environ.get("LAB_CHECK_RUN"):
        out = Path(os.environ["LAB_CHECK_RUN"])
        return json.loads((out / "summary.json").read_text()), manifests, out
    out = ROOT / ".build-lab" / out_name
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    summary = run(scenario, manifests, speed, out, app, "prometheus", quiet=True)
    print(f"\n{name} scenario at SPEED={speed:g}: {time.monotonic() - started:.0f} s wall; summary: "
          + json.dumps({k: v for k, v in summary.items() if k not in ("events", "phases", "per_phase")}))
    return summary, manifests, out
