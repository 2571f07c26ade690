"""The monitoring mixin's rules as the lab's Prometheus loads them: read from the generated
PrometheusRule (deploy/components/monitoring/prometheusrule.yaml, the one place of the rules),
every range window and every `for:` divided by SPEED, so a 5-minute rate and a 5-minute `for:`
span as many scenario seconds as they span real seconds in a cluster. The evaluation interval
is the lab's scrape interval (scaled likewise), as run.py configures it."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from lab.prometheus import ROOT, duration_seconds, format_duration, scale_windows

PROMETHEUS_RULE = ROOT / "deploy/components/monitoring/prometheusrule.yaml"


def mixin_groups(path: Path = PROMETHEUS_RULE) -> list[dict]:
    return yaml.safe_load(path.read_text())["spec"]["groups"]


def scaled_groups(speed: float, groups: list[dict] | None = None) -> list[dict]:
    """The rule groups with windows and `for:` (and a group's own interval) divided by `speed`."""
    out = copy.deepcopy(mixin_groups() if groups is None else groups)
    for group in out:
        if "interval" in group:
            group["interval"] = format_duration(duration_seconds(group["interval"]) / speed)
        for rule in group["rules"]:
            rule["expr"] = scale_windows(rule["expr"], speed)
            if "for" in rule:
                rule["for"] = format_duration(duration_seconds(rule["for"]) / speed)
    return out


def alert_names(groups: list[dict] | None = None) -> list[str]:
    names: list[str] = []
    for group in mixin_groups() if groups is None else groups:
        for rule in group["rules"]:
            if "alert" in rule and rule["alert"] not in names:
                names.append(rule["alert"])
    return names


def write_rule_file(path: Path, speed: float) -> Path:
    path.write_text(yaml.safe_dump({"groups": scaled_groups(speed)}, sort_keys=False))
    return path
