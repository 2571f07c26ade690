#!/usr/bin/env python3
"""The Docker build context holds everything the image build needs, and nothing it must not.

No Docker engine runs here, so this checks the contract statically:
  - .dockerignore is an allow-list (`*`, then `!path` lines);
  - every path the Dockerfile COPYs from the context is allowed;
  - every target directory of the package (`swift package describe`) lies under a path the
    Dockerfile copies, so `swift build` in the builder finds all of them (Package.swift names
    the test targets too: their directories must be there even for `--product metrics-app`);
  - Package.resolved, .build and .venv stay out (a local Package.resolved can pin commits of a
    local package mirror that do not exist upstream).
Prints PASS/FAIL lines and `ship-docker-context: N passed, M failed`; exits 1 on failure.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from checks import record, summary  # beside this script

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    lines = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines()]
    lines = [l for l in lines if l and not l.startswith("#")]
    allowed = {l[1:].strip("/") for l in lines[1:] if l.startswith("!")}
    record(lines[:1] == ["*"] and all(l.startswith("!") for l in lines[1:]),
           f".dockerignore is an allow-list: {sorted(allowed)}", f"lines: {lines}")

    copies = []
    for m in re.finditer(r"^COPY\s+(?!--from)(.+)$", (ROOT / "Dockerfile").read_text(), re.M):
        *sources, _dest = m.group(1).split()
        copies += [s.strip("./") for s in sources if not s.startswith("--")]
    record(bool(copies) and all(c in allowed for c in copies),
           f"the Dockerfile copies only allowed paths: {copies}", f"not allowed: {set(copies) - allowed}")

    proc = subprocess.run(["swift", "package", "describe", "--type", "json"], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        record(False, "swift package describe", proc.stderr.strip()[-500:])
    else:
        text = proc.stdout[proc.stdout.index("{"):]
        paths = sorted({t["path"] for t in json.loads(text)["targets"]})
        outside = [p for p in paths if not any(p == c or p.startswith(c + "/") for c in copies)]
        record(not outside, f"every package target is in what the Dockerfile copies ({len(paths)} targets)",
               f"targets outside the copied paths: {outside}")

    for path in ("Package.resolved", ".build", ".venv", ".git"):
        record(path not in allowed, f"{path} stays out of the build context")

    return summary("ship-docker-context")


if __name__ == "__main__":
    sys.exit(main())
