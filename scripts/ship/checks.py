"""PASS/FAIL results of the shipping checks (check_manifests, check_docker_context, e2e_prometheus).

Each check prints `PASS  what` or `FAIL  what` (with the detail indented below a failure) as it
is recorded; `summary(name)` prints the closing `name: N passed, M failed` line and returns the
exit status (1 when anything failed).
"""
from __future__ import annotations

results: list[tuple[bool, str]] = []


def record(ok: bool, what: str, detail: str = "") -> bool:
    results.append((ok, what))
    print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f"\n      {detail}" if detail and not ok else ""), flush=True)
    return ok


def summary(name: str) -> int:
    failed = sum(1 for ok, _ in results if not ok)
    print(f"{name}: {len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0
