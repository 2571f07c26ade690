"""metrics-app's recording rules and alerts, as Prometheus rule groups (real-time windows).

Recording rules are named level:metric:operations and exist where an alert would repeat an
expression (the burn-rate alerts read four windows of one ratio). `make mixin` writes them into
deploy/components/monitoring/prometheusrule.yaml; mixin/tests/alerts.test.yaml tests each alert
with promtool; the lab loads them, windows and `for:` divided by SPEED (lab/rules.py).
"""
from __future__ import annotations

from mixin import config as c

ALERTS = ["MetricsAppHighErrorRatio", "MetricsAppLatencyBudgetBurn", "MetricsAppTargetDown",
          "MetricsAppHpaMaxedOut", "MetricsAppHpaReplicasMismatch", "MetricsAppHpaMetricUnavailable"]

BY = "namespace, job"
REQUESTS = f'http_requests_total{{{c.APP_SELECTOR}}}'
ERRORS = f'http_requests_total{{{c.APP_SELECTOR},status=~"5.."}}'


def _le(bound: float) -> str:
    """A bucket bound as Prometheus may store it: "1" (text format) or "1.0" (OpenMetrics)."""
    forms = sorted({format(bound, "g"), repr(float(bound))})
    return "|".join(f.replace(".", "\\\\.") for f in forms)


def slow_ratio(window: str) -> str:
    """The share of requests slower than the SLO over `window`, per namespace and job."""
    fast = (f'sum by ({BY}) (rate(http_request_duration_seconds_bucket{{{c.APP_SELECTOR},'
            f'le=~"{_le(c.SLO_SECONDS)}"}}[{window}]))')
    total = f'sum by ({BY}) (rate(http_request_duration_seconds_count{{{c.APP_SELECTOR}}}[{window}]))'
    return f"1 - ({fast} / {total})"


def slow_ratio_record(window: str) -> str:
    return f"namespace_job:http_request_duration_seconds_slow:ratio_rate{window}"


def _windows() -> list[str]:
    seen: list[str] = []
    for _sev, long, short, _rate, _for in c.BURN_RATES:
        for w in (short, long):
            if w not in seen:
                seen.append(w)
    return seen


def runbook(alert: str, base: str = c.RUNBOOK_DOC) -> str:
    return f"{base}#{alert.lower()}"


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str,
           runbook_base: str, labels: dict | None = None) -> dict:
    return {"alert": name, "expr": expr, "for": for_,
            "labels": {"severity": severity, **(labels or {})},
            "annotations": {"summary": summary, "description": description,
                            "runbook_url": runbook(name, runbook_base)}}


def groups(runbook_base: str = c.RUNBOOK_DOC) -> list[dict]:
    records = [
        {"record": "namespace_job:http_requests:rate5m", "expr": f"sum by ({BY}) (rate({REQUESTS}[5m]))"},
        # 0 (not nothing) while no request failed: the error-ratio panel and alert read a number.
        {"record": "namespace_job:http_requests_errors:ratio_rate5m",
         "expr": f"(sum by ({BY}) (rate({ERRORS}[5m])) or 0 * namespace_job:http_requests:rate5m{{{c.APP_SELECTOR}}})"
                 f" / namespace_job:http_requests:rate5m{{{c.APP_SELECTOR}}}"},
    ] + [{"record": slow_ratio_record(w), "expr": slow_ratio(w)} for w in _windows()]

    budget = 1 - c.SLO_TARGET
    burn = []
    for severity, long, short, rate, for_ in c.BURN_RATES:
        threshold = round(rate * budget, 6)
        burn.append(_alert(
            "MetricsAppLatencyBudgetBurn",
            f"{slow_ratio_record(long)}{{{c.APP_SELECTOR}}} > {threshold:g}\n"
            f"and\n{slow_ratio_record(short)}{{{c.APP_SELECTOR}}} > {threshold:g}",
            for_, severity,
            f"metrics-app in {{{{ $labels.namespace }}}} burns its latency error budget {rate:g}x too fast",
            f"More than {threshold:.1%} of requests to {{{{ $labels.job }}}} in {{{{ $labels.namespace }}}} took "
            f"longer than {c.SLO_SECONDS:g} s over the last {long} and {short} (SLO: {c.SLO_TARGET:.0%} "
            f"within {c.SLO_SECONDS:g} s); {{{{ $value | humanizePercentage }}}} over {long}.",
            runbook_base, {"long_window": long, "short_window": short}))

    hpa = c.HPA_SELECTOR
    alerts = [
        _alert("MetricsAppHighErrorRatio",
               f"namespace_job:http_requests_errors:ratio_rate5m{{{c.APP_SELECTOR}}} > {c.ERROR_RATIO:g}",
               c.ERROR_FOR, "warning",
               "metrics-app in {{ $labels.namespace }} answers too many requests with a 5xx",
               f"{{{{ $value | humanizePercentage }}}} of the requests to {{{{ $labels.job }}}} in "
               f"{{{{ $labels.namespace }}}} were answered with a 5xx over 5 minutes (threshold {c.ERROR_RATIO:.0%}).",
               runbook_base),
        *burn,
        _alert("MetricsAppTargetDown", f"up{{{c.APP_SELECTOR}}} == 0", c.TARGET_DOWN_FOR, "warning",
               "Prometheus gets no metrics from metrics-app pod {{ $labels.namespace }}/{{ $labels.pod }}",
               "Scrapes of {{ $labels.pod }} ({{ $labels.instance }}, job {{ $labels.job }}) have failed for "
               f"{c.TARGET_DOWN_FOR}: its request rate is missing from the HPA's metric and from the dashboards.",
               runbook_base),
        _alert("MetricsAppHpaMaxedOut",
               f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}\n"
               f"  == kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}\n"
               f"and\nkube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}\n"
               f"  != kube_horizontalpodautoscaler_spec_min_replicas{{{hpa}}}",
               c.HPA_MAXED_FOR, "warning",
               "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} runs at maxReplicas",
               "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has run at its maxReplicas "
               f"({{{{ $value }}}}) for {c.HPA_MAXED_FOR}: more load cannot get more pods.",
               runbook_base),
        _alert("MetricsAppHpaReplicasMismatch",
               f"(kube_horizontalpodautoscaler_status_desired_replicas{{{hpa}}}\n"
               f"  != kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}})\n"
               f"and\n(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}\n"
               f"  > kube_horizontalpodautoscaler_spec_min_replicas{{{hpa}}})\n"
               f"and\n(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}\n"
               f"  < kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})\n"
               f"and\nchanges(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}[15m]) == 0",
               c.HPA_MISMATCH_FOR, "warning",
               "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has not reached its desired replicas",
               "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} wants a different number of "
               f"replicas than it has, and the count has not moved for {c.HPA_MISMATCH_FOR}.",
               runbook_base),
        _alert("MetricsAppHpaMetricUnavailable",
               f'kube_horizontalpodautoscaler_status_condition{{{hpa},condition="ScalingActive",status="false"}} == 1',
               c.HPA_METRIC_UNAVAILABLE_FOR, "critical",
               "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} cannot read its metric",
               "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has had ScalingActive=False for "
               f"{c.HPA_METRIC_UNAVAILABLE_FOR}: it cannot compute a replica count and will not scale "
               "(the custom metrics API answers no value: a broken adapter rule, or no series).",
               runbook_base),
    ]
    # One group: its rules are evaluated in order, so each alert reads the recording rules of the
    # same evaluation (across groups the order is not defined, and a `for:` would start one
    # evaluation early or late).
    return [{"name": "metrics-app", "rules": records + alerts}]
