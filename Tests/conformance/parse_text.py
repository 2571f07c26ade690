#!/usr/bin/env python3
"""Parses Prometheus text 0.0.4 from stdin with prometheus_client's parser (which MetricsKit did
not write) and prints what it understood as JSON: families with their type and help, and every
sample with its name, labels and value (as Python's repr, so NaN and infinities survive)."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    families = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        families.append({
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": repr(float(s.value))}
                for s in family.samples
            ],
        })
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
