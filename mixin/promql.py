"""PromQL as the dashboard's checks and the lab's query check read it.

  panel_targets     every (panel title, refId, expr) of a dashboard JSON
  interpolate       Grafana's variables replaced by values ($__rate_interval, $namespace, ...)
  promtool_parse    each expression parsed by promtool, the real parser (a throwaway rules file)
  selectors         the vector selectors of an expression (metric name and matcher text)
  counters_outside_rate   *_total series not directly inside rate()/increase()/irate()

The last two use a small tokenizer (strings and comments skipped, parentheses tracked): enough
for the dashboard's own queries, which promtool has already parsed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

# Values a Grafana variable takes when a query is run outside Grafana (the lab, promtool).
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "inf", "nan", "atan2"}
AGGREGATIONS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
                "count_values", "group"}
_OFFSET = re.compile(r"\boffset\s+-?[0-9smhdwy]+")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|#[^\n]*|[A-Za-z_:][\w:]*|\S')


def panel_targets(dashboard: dict) -> list[tuple[str, str, str]]:
    out = []
    for panel in dashboard["panels"]:
        for t in panel.get("targets", []):
            out.append((panel.get("title", ""), t.get("refId", ""), t.get("expr", "")))
    return out


def interpolate(expr: str, values: dict[str, str]) -> str:
    """Grafana's ${name} / $name replaced by values[name]; a name without a value stays."""
    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))
    return VARIABLE.sub(one, expr)


def promtool_parse(exprs: dict[str, str], promtool: str = "promtool") -> dict[str, str]:
    """{name: expr} -> {name: promtool's error} for each that does not parse (one rules file per
    expression, so an error names its expression)."""
    if not shutil.which(promtool):
        raise RuntimeError(f"{promtool} not found (Debian package prometheus: apt-get install prometheus)")
    errors = {}
    with tempfile.TemporaryDirectory(prefix="mixin-promql-") as tmp:
        for i, (name, expr) in enumerate(exprs.items()):
            path = Path(tmp) / f"q{i}.yaml"
            path.write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": [{"record": "q:q:q", "expr": expr}]}]}))
            proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
            if proc.returncode != 0:
                errors[name] = (proc.stdout + proc.stderr).strip()
    return errors


def tokens(expr: str) -> list[str]:
    return [t for t in _TOKEN.findall(_OFFSET.sub(" ", expr)) if not t.startswith("#")]


def selectors(expr: str) -> list[tuple[str, str]]:
    """(metric name, matcher text inside {} or "") of each vector selector."""
    toks = tokens(expr)
    out = []
    i = 0
    grouping = 0  # inside by (...), without (...), on (...), ...
    depth_stack: list[str] = []
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if t == "(":
            prev = toks[i - 1] if i else ""
            depth_stack.append("group" if prev in ("by", "without", "on", "ignoring", "group_left", "group_right")
                               else "call")
            grouping += depth_stack[-1] == "group"
        elif t == ")":
            if depth_stack and depth_stack.pop() == "group":
                grouping -= 1
        elif t == "[":
            i = toks.index("]", i)  # a range or subquery window
        elif t == "{":
            # a selector without a name: {__name__=...}
            j = toks.index("}", i)
            out.append(("", " ".join(toks[i + 1:j])))
            i = j
        elif re.match(r"[A-Za-z_:]", t) and t not in KEYWORDS and not grouping and nxt != "(" \
                and not (t in AGGREGATIONS and nxt in ("by", "without")):
            if nxt == "{":
                j = toks.index("}", i)
                out.append((t, " ".join(toks[i + 2:j])))
                i = j
            else:
                out.append((t, ""))
        i += 1
    return out


def counters_outside_rate(expr: str) -> list[str]:
    """Counter series (names ending _total) whose innermost enclosing call is not
    rate/increase/irate: a raw counter on a graph only ever grows."""
    toks = tokens(expr)
    calls: list[str] = []
    bad = []
    skip_to = -1
    for i, t in enumerate(toks):
        if i <= skip_to:
            continue
        if t in ("[", "{"):
            skip_to = toks.index("]" if t == "[" else "}", i)
        elif t == "(":
            prev = toks[i - 1] if i else ""
            calls.append(prev if re.match(r"[A-Za-z_]", prev) else "")
        elif t == ")":
            if calls:
                calls.pop()
        elif t.endswith("_total") and (i + 1 >= len(toks) or toks[i + 1] != "("):
            inner = next((c for c in reversed(calls) if c not in ("",)), "")
            if inner not in ("rate", "increase", "irate"):
                bad.append(t)
    return bad
