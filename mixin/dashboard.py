"""The "metrics-app" Grafana dashboard as code (grafana-foundation-sdk, pinned in
mixin/requirements.txt). Three rows: RED (rate, errors, duration, in flight), Autoscaling (the
HPA as kube-state-metrics reports it, and the metric it scales on as the adapter computes it),
Pods (process CPU, memory, fds, scrapes).

`make mixin` writes deploy/components/monitoring/metrics-app-dashboard.json from build().
Every panel has a title, a description and a unit; every query selects a job; rate() and
increase() use $__rate_interval, except the adapter's own expression, whose fixed window is what
the HPA sees (ADAPTER_WINDOW_PANELS). mixin/tests/test_dashboard.py checks all of it.
"""
from __future__ import annotations

import json

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.builders import stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from lab.prometheus import adapter_rules, expand, resource_labels
from mixin import config as c

UID = "metrics-app"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
APP = 'namespace=~"$namespace",job=~"$job"'
HPA = f'job="{c.KSM_JOB}",namespace=~"$namespace",horizontalpodautoscaler=~"$hpa"'
RI = "$__rate_interval"
# Panels whose query is the adapter's rule itself, with its fixed rate window.
ADAPTER_WINDOW_PANELS = {"HPA metric per pod (what the HPA sees)"}


def adapter_pods_query() -> str:
    """The adapter rule of the default route's Pods metric (http_requests_per_second), expanded
    as prometheus-adapter expands it, over the dashboard's namespace and job."""
    rule = next(r for r in adapter_rules() if r["seriesQuery"].startswith("http_requests_total"))
    labels = resource_labels(rule)
    q = expand(rule["metricsQuery"], "http_requests_total", {labels["namespace"]: "=~$namespace"}, labels["pod"])
    return q.replace('namespace=~"$namespace"', APP)


def _target(expr: str, legend: str, ref: str = "A") -> prom.Dataquery:
    return prom.Dataquery().expr(expr).legend_format(legend).ref_id(ref)


def _timeseries(title: str, description: str, unit: str, targets: list[prom.Dataquery], w: int = 8,
                h: int = 8, min_val: float | None = 0) -> timeseries.Panel:
    p = timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE) \
        .span(w).height(h).fill_opacity(10).line_width(1)
    if min_val is not None:
        p = p.min(min_val)
    for t in targets:
        p = p.with_target(t)
    return p


def _refs(*pairs: tuple[str, str]) -> list[prom.Dataquery]:
    return [_target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(pairs)]


def _variable(name: str, label: str, query: str) -> db.QueryVariable:
    return db.QueryVariable(name).label(label).query(query).datasource(DATASOURCE) \
        .multi(True).include_all(True).all_value(".+") \
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(model.VariableSort.ALPHABETICAL_ASC)


def red_row() -> list:
    by_class = (f'sum by (status_class) (label_replace(rate(http_requests_total{{{APP}}}[{RI}]), '
                f'"status_class", "${{1}}xx", "status", "([0-9]).."))')
    errors = (f'(sum(rate(http_requests_total{{{APP},status=~"5.."}}[{RI}])) or 0 * sum(rate(http_requests_total{{{APP}}}[{RI}])))'
              f' / sum(rate(http_requests_total{{{APP}}}[{RI}]))')
    classic = [(f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{{{APP}}}[{RI}])))",
                f"p{int(q * 100)} (classic buckets)") for q in (0.5, 0.95, 0.99)]
    native = [(f"histogram_quantile({q}, sum(rate(http_request_duration_seconds{{{APP}}}[{RI}])))",
               f"p{int(q * 100)} (native histogram)") for q in (0.5, 0.95, 0.99)]
    return [
        db.Row("RED: rate, errors, duration"),
        _timeseries("Request rate by status class",
                    "Requests per second answered, by status class (2xx, 4xx, 5xx), all pods of the job.",
                    "reqps", _refs((by_class, "{{status_class}}"))),
        _timeseries("Error ratio (5xx / all)",
                    f"Share of requests answered with a 5xx. MetricsAppHighErrorRatio fires above {c.ERROR_RATIO:.0%} "
                    f"for {c.ERROR_FOR}.", "percentunit", _refs((errors, "5xx share"))),
        _timeseries("Request latency p50 / p95 / p99",
                    "Latency quantiles from the classic buckets (any Prometheus) and, when Prometheus stores "
                    "native histograms, from the native histogram (empty otherwise). The SLO: "
                    f"{c.SLO_TARGET:.0%} within {c.SLO_SECONDS:g} s.",
                    "s", _refs(*classic, *native)),
        _timeseries("Requests in flight",
                    "Requests being served now, per pod (http_requests_in_flight). With --max-concurrency the "
                    "ones waiting their turn count too: a pod holding more than its limit is queueing.",
                    "short", _refs((f"sum by (pod) (http_requests_in_flight{{{APP}}})", "{{pod}}")), w=24),
    ]


def autoscaling_row() -> list:
    replicas = _refs(
        (f"kube_horizontalpodautoscaler_status_current_replicas{{{HPA}}}", "current {{horizontalpodautoscaler}}"),
        (f"kube_horizontalpodautoscaler_status_desired_replicas{{{HPA}}}", "desired {{horizontalpodautoscaler}}"),
        (f"kube_horizontalpodautoscaler_spec_min_replicas{{{HPA}}}", "min {{horizontalpodautoscaler}}"),
        (f"kube_horizontalpodautoscaler_spec_max_replicas{{{HPA}}}", "max {{horizontalpodautoscaler}}"))
    metric = _refs(
        (adapter_pods_query(), "{{pod}}"),
        (f'kube_horizontalpodautoscaler_spec_target_metric{{{HPA},metric_name="http_requests_per_second"}}',
         "target (per pod)"))
    status = _refs(
        (f"kube_horizontalpodautoscaler_status_target_metric{{{HPA}}}", "{{metric_name}} ({{metric_target_type}})"),
        (f"kube_horizontalpodautoscaler_spec_target_metric{{{HPA}}}", "target {{metric_name}} ({{metric_target_type}})"))
    conditions = statetimeline.Panel().title("HPA conditions") \
        .description("The HPA's AbleToScale, ScalingActive and ScalingLimited conditions (1 = True). "
                     "ScalingActive False: the HPA cannot read its metric (MetricsAppHpaMetricUnavailable); "
                     "ScalingLimited True: clamped by min/maxReplicas or a scaling policy.") \
        .unit("bool").datasource(DATASOURCE).span(24).height(6) \
        .with_target(_target(f'kube_horizontalpodautoscaler_status_condition{{{HPA},status="true"}}',
                             "{{condition}}"))
    return [
        db.Row("Autoscaling"),
        _timeseries("Replicas: current / desired / min / max",
                    "The HPA's replica counts as kube-state-metrics reports them. Current at max for "
                    f"{c.HPA_MAXED_FOR}: MetricsAppHpaMaxedOut.", "short", replicas),
        _timeseries("HPA metric per pod (what the HPA sees)",
                    "http_requests_per_second per pod, computed by the Prometheus Adapter's own rule "
                    "(deploy/prometheus-adapter/rules-configmap.yaml, its fixed 2-minute window), against "
                    "the HPA's AverageValue target.", "reqps", metric),
        _timeseries("HPA metric status vs target",
                    "What the HPA last read for each of its metrics (status.currentMetrics) against its "
                    "target, as kube-state-metrics reports them: any route (adapter, KEDA, latency).",
                    "short", status),
        conditions,
    ]


def pods_row() -> list:
    up = stat.Panel().title("Targets up").description(
        "Pods Prometheus scraped successfully at the last scrape, out of the job's targets "
        "(a pod at 0 for long: MetricsAppTargetDown).").unit("short").datasource(DATASOURCE).span(4).height(8) \
        .with_target(_target(f"sum(up{{{APP}}})", "up")).with_target(_target(f"count(up{{{APP}}})", "targets", "B"))
    return [
        db.Row("Pods"),
        _timeseries("CPU per pod", "CPU time each process uses per second (process_cpu_seconds_total).",
                    "percentunit", _refs((f"rate(process_cpu_seconds_total{{{APP}}}[{RI}])", "{{pod}}")), w=10),
        _timeseries("Resident memory per pod", "Resident set size of each process.", "bytes",
                    _refs((f"process_resident_memory_bytes{{{APP}}}", "{{pod}}")), w=10),
        up,
        _timeseries("Open file descriptors per pod", "Open fds of each process, and its limit.", "short",
                    _refs((f"process_open_fds{{{APP}}}", "{{pod}}"),
                          (f"max(process_max_fds{{{APP}}})", "limit")), min_val=None),
        _timeseries("Scrape duration per pod", "How long each scrape of /metrics took.", "s",
                    _refs((f"scrape_duration_seconds{{{APP}}}", "{{pod}}"))),
        _timeseries("up per pod", "1 when the last scrape of the pod succeeded, 0 when it failed.", "short",
                    _refs((f"up{{{APP}}}", "{{pod}}"))),
    ]


def build() -> model.Dashboard:
    d = db.Dashboard("metrics-app").uid(UID).tags(["metrics-app", "metricskit"]) \
        .description("metrics-app: requests (rate, errors, duration), its HPA, its pods. Generated by "
                     "`make mixin` from mixin/dashboard.py; edit that, not the JSON.") \
        .editable().time("now-1h", "now").refresh("30s").timezone("browser") \
        .with_variable(db.DatasourceVariable("datasource").label("Data source").type("prometheus")) \
        .with_variable(_variable("namespace", "Namespace", "label_values(metrics_app_build_info, namespace)")) \
        .with_variable(_variable("job", "Job",
                                 'label_values(metrics_app_build_info{namespace=~"$namespace"}, job)')) \
        .with_variable(_variable("hpa", "HPA", f'label_values(kube_horizontalpodautoscaler_info'
                                               f'{{job="{c.KSM_JOB}",namespace=~"$namespace"}}, horizontalpodautoscaler)'))
    for i, item in enumerate(red_row() + autoscaling_row() + pods_row(), start=1):
        item = item.id(i)
        d = d.with_row(item) if isinstance(item, db.Row) else d.with_panel(item)
    return d.build()


def to_json(dash: model.Dashboard | None = None) -> str:
    return json.dumps(dash or build(), cls=JSONEncoder, sort_keys=True, indent=2) + "\n"
