"""The mixin's settings, written once: which series are metrics-app's, which are its HPA's, the
SLO and the thresholds. rules.py and dashboard.py read them; `make mixin` writes the deployable
files from them.

Change a value here and run `make mixin` (the mixin's tests fail while the checked-in files are
stale).
"""
from __future__ import annotations

# metrics-app's scrape job: the Prometheus Operator names it after the Service
# (deploy/base/service.yaml, scraped through deploy/base/servicemonitor.yaml).
APP_JOB = "metrics-app"
APP_SELECTOR = f'job="{APP_JOB}"'
# kube-state-metrics' scrape job and the HPAs the deploy routes create: metrics-app (the adapter
# routes) and keda-hpa-metrics-app (the HPA KEDA creates for the ScaledObject).
KSM_JOB = "kube-state-metrics"
HPA_SELECTOR = f'job="{KSM_JOB}",horizontalpodautoscaler=~"(keda-hpa-)?metrics-app"'

# Requests answered with a 5xx, as a share of all, above this for ERROR_FOR: MetricsAppHighErrorRatio.
ERROR_RATIO = 0.05
ERROR_FOR = "5m"

# The latency SLO: SLO_TARGET of requests to / answered within SLO_SECONDS (a classic bucket
# bound of metrics-app's default --buckets). The burn-rate alerts follow the SRE workbook
# (chapter 5, "multiwindow, multi-burn-rate alerts"): a page when the budget burns 14.4x too
# fast over 1 h and 5 min (2% of a 30-day budget in an hour), a ticket at 6x over 6 h and 30 min.
SLO_SECONDS = 1.0
SLO_TARGET = 0.99
BURN_RATES = [
    # (severity, long window, short window, burn rate, for)
    ("critical", "1h", "5m", 14.4, "2m"),
    ("warning", "6h", "30m", 6.0, "15m"),
]

# No metrics from a pod (a failed scrape) for this long: MetricsAppTargetDown.
TARGET_DOWN_FOR = "5m"
# The HPA at maxReplicas this long: MetricsAppHpaMaxedOut. kubernetes-mixin waits 15m; at
# metrics-app's maxReplicas the extra load already queues, so this says so after 5 minutes.
HPA_MAXED_FOR = "5m"
# desired != current replicas, with no change of current for this long: MetricsAppHpaReplicasMismatch
# (kubernetes-mixin's KubeHpaReplicasMismatch).
HPA_MISMATCH_FOR = "15m"
# ScalingActive false this long (the HPA cannot read its metric): MetricsAppHpaMetricUnavailable.
HPA_METRIC_UNAVAILABLE_FOR = "5m"

# Where each alert's runbook_url points: a section of docs/runbook.md, anchored by the alert's
# name in lower case (as a Markdown renderer makes heading anchors). Relative to the repository;
# `make mixin RUNBOOK_BASE=https://git.example.com/you/metricskit/blob/main/docs/runbook.md`
# writes absolute links for your clone.
RUNBOOK_DOC = "docs/runbook.md"

# The PrometheusRule's labels: a Prometheus resource's ruleSelector must match them
# (kube-prometheus-stack: release: <its release>), like the ServiceMonitor's.
RULE_LABELS = {"app": "metrics-app", "release": "prometheus"}
NAMESPACE = "demo-ns"
