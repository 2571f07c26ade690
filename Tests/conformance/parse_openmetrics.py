#!/usr/bin/env python3
"""Parses OpenMetrics 1.0 text from stdin with prometheus_client's strict OpenMetrics parser
(which MetricsKit did not write) and prints what it understood as JSON: families with type and
help, every sample with name, labels, value (repr) and exemplar, if any."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> None:
    families = []
    for family in text_string_to_metric_families(sys.stdin.read()):
        samples = []
        for s in family.samples:
            exemplar = None
            if s.exemplar is not None:
                exemplar = {
                    "labels": s.exemplar.labels,
                    "value": repr(float(s.exemplar.value)),
                    "timestamp": repr(float(s.exemplar.timestamp)) if s.exemplar.timestamp is not None else None,
                }
            samples.append({"name": s.name, "labels": s.labels, "value": repr(float(s.value)), "exemplar": exemplar})
        families.append({"name": family.name, "type": family.type, "help": family.documentation, "samples": samples})
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
