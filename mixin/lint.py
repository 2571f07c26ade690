"""The dashboard's lint rules, each named after the grafana/dashboard-linter rule it mirrors (the
linter itself cannot be installed here). Each takes the dashboard JSON (a dict) and returns its
problems, one line each naming the panel or variable; mixin/tests/test_dashboard.py runs them
on the generated dashboard (no problem allowed) and on broken copies (each must complain).
"""
from __future__ import annotations

import re

from grafana_foundation_sdk.models import units

from mixin import promql
from mixin.dashboard import ADAPTER_WINDOW_PANELS, adapter_pods_query

DATASOURCE_UID = "${datasource}"
# What the variables stand for when promtool parses a query (any valid values do).
PARSE_VALUES = {"datasource": "prometheus", "namespace": "demo-ns", "job": "metrics-app", "hpa": "metrics-app",
                "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
GRAFANA_UNITS = {v for k, v in vars(units).items() if not k.startswith("_") and isinstance(v, str)}
_RANGE_FUNCS = re.compile(r"\b(rate|irate|increase)\s*\(")
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*(\w+)\)$", re.S)


def _panels(d: dict) -> list[dict]:
    return [p for p in d["panels"] if p.get("type") != "row"]


def _query_variables(d: dict) -> list[dict]:
    return [v for v in d["templating"]["list"] if v.get("type") == "query"]


def template_datasource_rule(d: dict) -> list[str]:
    ds = [v for v in d["templating"]["list"] if v.get("name") == "datasource"]
    if not ds:
        return ["no variable named datasource"]
    v = ds[0]
    problems = []
    if v.get("type") != "datasource" or v.get("query") != "prometheus":
        problems.append(f"datasource variable is {v.get('type')}/{v.get('query')}, not a prometheus datasource variable")
    if v.get("label") != "Data source":
        problems.append(f"datasource variable's label is {v.get('label')!r}, not 'Data source'")
    return problems


def _multi_variable(d: dict, name: str) -> list[str]:
    found = [v for v in d["templating"]["list"] if v.get("name") == name]
    if not found:
        return [f"no {name} variable"]
    v = found[0]
    problems = []
    if v.get("type") != "query":
        problems.append(f"variable {name} is of type {v.get('type')}, not query")
    if v.get("datasource", {}).get("uid") != DATASOURCE_UID:
        problems.append(f"variable {name} does not use {DATASOURCE_UID}")
    if not v.get("multi") or not v.get("includeAll") or v.get("allValue") != ".+":
        problems.append(f"variable {name}: multi {v.get('multi')}, includeAll {v.get('includeAll')}, "
                        f"allValue {v.get('allValue')!r} (want multi, All = .+)")
    return problems


def template_job_rule(d: dict) -> list[str]:
    return _multi_variable(d, "job") + _multi_variable(d, "namespace")


def template_on_time_change_reload_rule(d: dict) -> list[str]:
    return [f"variable {v['name']} refreshes {v.get('refresh')}, not on time range change (2)"
            for v in _query_variables(d) if v.get("refresh") != 2]


def template_label_promql_rule(d: dict) -> list[str]:
    exprs, problems = {}, []
    for v in _query_variables(d):
        q = v.get("query")
        m = _LABEL_VALUES.match(q if isinstance(q, str) else "")
        if not m:
            problems.append(f"variable {v['name']}: query {q!r} is not label_values(<selector>, <label>)")
            continue
        exprs[f"variable {v['name']}"] = promql.interpolate(m.group(1), PARSE_VALUES)
    return problems + [f"{k}: {e}" for k, e in promql.promtool_parse(exprs).items()]


def panel_datasource_rule(d: dict) -> list[str]:
    problems = []
    for p in _panels(d):
        if p.get("datasource", {}).get("uid") != DATASOURCE_UID:
            problems.append(f"panel {p.get('title')!r} does not use {DATASOURCE_UID}")
        for t in p.get("targets", []):
            if "datasource" in t and t["datasource"].get("uid") != DATASOURCE_UID:
                problems.append(f"panel {p.get('title')!r} target {t.get('refId')} does not use {DATASOURCE_UID}")
    return problems


def panel_title_description_rule(d: dict) -> list[str]:
    return [f"panel {p.get('id')} ({p.get('title')!r}) has no title or no description"
            for p in _panels(d) if not p.get("title") or not p.get("description")]


def panel_units_rule(d: dict) -> list[str]:
    problems = []
    for p in _panels(d):
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not unit:
            problems.append(f"panel {p.get('title')!r} has no unit")
        elif unit not in GRAFANA_UNITS:
            problems.append(f"panel {p.get('title')!r}: {unit!r} is not a Grafana unit")
    return problems


def panel_no_targets_rule(d: dict) -> list[str]:
    return [f"panel {p.get('title')!r} has no query" for p in _panels(d) if not p.get("targets")]


def target_promql_rule(d: dict) -> list[str]:
    exprs = {f"panel {title!r} target {ref}": promql.interpolate(e, PARSE_VALUES)
             for title, ref, e in promql.panel_targets(d)}
    return [f"{k}: {e}" for k, e in promql.promtool_parse(exprs).items()]


def target_rate_interval_rule(d: dict) -> list[str]:
    """Every range of rate()/irate()/increase() is $__rate_interval; the adapter panel's query is
    the adapter's own expression instead (its fixed window is what the HPA sees)."""
    problems = []
    for title, ref, e in promql.panel_targets(d):
        if title in ADAPTER_WINDOW_PANELS and ref == "A":
            if e != adapter_pods_query():
                problems.append(f"panel {title!r} target A is not the adapter rule's expression")
            continue
        for m in _RANGE_FUNCS.finditer(e):
            depth, i = 1, m.end()
            while i < len(e) and depth:
                depth += {"(": 1, ")": -1}.get(e[i], 0)
                i += 1
            windows = re.findall(r"\[([^\]]*)\]", e[m.end():i])
            if windows != ["$__rate_interval"]:
                problems.append(f"panel {title!r} target {ref}: {m.group(1)}() over {windows}, not [$__rate_interval]")
    return problems


def target_job_rule(d: dict) -> list[str]:
    problems = []
    for title, ref, e in promql.panel_targets(d):
        for name, matchers in promql.selectors(e):
            if not re.search(r"(^|,)\s*job\s*(=|=~)", matchers):
                problems.append(f"panel {title!r} target {ref}: {name or '{...}'} has no job matcher")
    return problems


def target_counter_agg_rule(d: dict) -> list[str]:
    return [f"panel {title!r} target {ref}: counter {c} not inside rate()/increase()"
            for title, ref, e in promql.panel_targets(d) for c in promql.counters_outside_rate(e)]


RULES = {name.replace("_", "-"): fn for name, fn in list(globals().items())
         if callable(fn) and name.endswith("_rule") and not name.startswith("_")}
