"""make lab: one scenario, live, with real metrics-app pods, a real Prometheus and the HPA.

  python -m lab --scenario default [--speed 6] [--out DIR] [--hpa my-hpa.yaml]

Prints one line per HPA sync and writes timeline.csv, inputs.jsonl, summary.json, alerts.jsonl,
failures.csv (every failed request: when, why, which pod) and chart.svg/.png into --out. Times in
the outputs are scenario seconds (wall seconds x SPEED).
The monitoring mixin's rules (deploy/components/monitoring) run in the lab's Prometheus, which
sends its alerts to a real Alertmanager; alerts.jsonl lists what Alertmanager received and when.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from lab import quantity
from lab.alertmanager import BINARY as ALERTMANAGER, AlertLog, expectations, start_alertmanager
from lab import dashboard
from lab.controller import DEFAULT_SYNC_PERIOD, HorizontalController, MetricsError, PodMetric
from lab.fault_summary import condition_text, fault_reports, met
from lab.faults import FaultInjector, PrometheusProcess
from lab.kong import KongOperatorMetrics
from lab.ksm import KubeStateMetrics
from lab.load import LoadGenerator, percentile
from lab.metrics_server import MetricsServer
from lab.pods import Node, PodTemplate, ReplicaSet
from lab.prometheus import (
    ROOT, Adapter, AdapterError, Processes, adapter_rules, format_duration, rate_windows_seconds, require_tool,
    scalar_query, scrape_timing, service_monitor_job, start_prometheus, wait_until, write_file_sd,
)
from lab.scenarios import Manifests, Scenario, ScenarioError, keda_metric_name, load_manifests, load_scenario
from lab.rules import alert_names, write_rule_file
from lab.summary import COLUMNS, summarize

SERVICE = "metrics-app"


class LabMetrics:
    """The metrics APIs the HPA reads, as the lab serves them: custom metrics from the adapter's
    rules, external metrics from KEDA's trigger queries, resource metrics from the metrics-server
    stand-in. Remembers what each call returned (and its query) for inputs.jsonl."""

    def __init__(self, adapter: Adapter, manifests: Manifests, metrics_server: MetricsServer | None,
                 clock, speed: float) -> None:
        self.adapter = adapter
        self.namespace = manifests.hpa["metadata"].get("namespace", "default")
        self.metrics_server = metrics_server
        self.clock = clock
        self.speed = speed
        self.external: dict[str, str] = {}
        if manifests.scaled_object:
            for i, trig in enumerate(manifests.scaled_object["spec"]["triggers"]):
                self.external[keda_metric_name(i, trig)] = trig["metadata"]["query"]
        self.calls: list[dict] = []

    def _record(self, **call) -> None:
        self.calls.append(call)

    def get_raw_metric(self, name, pods, metric_selector):
        names = [p.name for p in pods]
        try:
            values, q = self.adapter.pods_metric(name, self.namespace, names)
        except (AdapterError, RuntimeError, OSError) as e:  # OSError: Prometheus unreachable
            self._record(api="custom.metrics.k8s.io", metric=name, error=str(e))
            raise MetricsError(f"unable to get metric {name}: {e}") from e
        now = self.clock()
        found = {p: PodMetric(v, now) for p, v in values.items() if v is not None and p in names}
        self._record(api="custom.metrics.k8s.io", metric=name, query=q,
                     values={p: quantity.format_milli(m.value) for p, m in sorted(found.items())})
        if not found:
            raise MetricsError(f"unable to get metric {name}: no metrics returned from custom metrics API")
        return found

    def get_object_metric(self, name, described_object, metric_selector):
        try:
            value, q = self.adapter.object_metric(name, self.namespace, described_object["kind"],
                                                  described_object["name"])
        except (AdapterError, RuntimeError, OSError) as e:  # OSError: Prometheus unreachable
            self._record(api="custom.metrics.k8s.io", metric=name, error=str(e))
            raise MetricsError(f"unable to get metric {name}: {e}") from e
        self._record(api="custom.metrics.k8s.io", metric=name, query=q,
                     value=None if value is None else quantity.format_milli(value))
        if value is None:
            raise MetricsError(f"unable to get metric {name}: not a finite value")
        return value

    def get_external_metric(self, name, metric_selector):
        if name not in self.external:
            raise MetricsError(f"unable to get external metric {name}: no such trigger")
        try:
            values, q = scalar_query(self.adapter.prom, self.external[name], self.speed)
        except (RuntimeError, OSError) as e:
            self._record(api="external.metrics.k8s.io", metric=name, error=str(e))
            raise MetricsError(f"unable to get external metric {name}: {e}") from e
        if len(values) > 1:
            raise MetricsError(f"unable to get external metric {name}: prometheus query returned multiple elements")
        # An empty result counts as 0 (the trigger's ignoreNullValues default).
        values = [v for v in values if v is not None] or [0]
        self._record(api="external.metrics.k8s.io", metric=name, query=q,
                     values=[quantity.format_milli(v) for v in values])
        return values

    def get_resource_metric(self, resource, pods, container=""):
        if resource != "cpu" or self.metrics_server is None:
            raise MetricsError(f"unable to get metrics for resource {resource}: the lab measures cpu only")
        try:
            found = self.metrics_server.pod_metrics([p.name for p in pods])
        except MetricsError as e:
            self._record(api="metrics.k8s.io", metric=resource, error=str(e))
            raise
        self._record(api="metrics.k8s.io", metric=resource,
                     values={p: {"usage": quantity.format_milli(m.value), "timestamp": round(m.timestamp, 3),
                                 "window": f"{m.window:.1f}s"} for p, m in sorted(found.items())})
        return found


def speed_note(speed: float, manifests: Manifests, interval: float, scenario: Scenario) -> list[str]:
    """What SPEED changes, for the header."""
    if speed == 1:
        return ["SPEED=1: every duration as shipped (about "
                f"{scenario.planned_seconds / 60:.0f} min at most)"]
    spec = manifests.hpa["spec"]
    lines = [f"SPEED={speed:g}: every duration is divided by {speed:g} (wall = scenario / {speed:g}); "
             "times below and in the outputs are scenario seconds:"]
    windows = sorted(set(rate_windows_seconds(adapter_rules(), [])))
    lines.append(f"  scrape interval {interval:g}s -> {interval / speed:.2f}s; adapter rate windows "
                 + ", ".join(f"{format_duration(w)} -> {format_duration(w / speed)}" for w in windows))
    lines.append(f"  HPA sync {DEFAULT_SYNC_PERIOD:g}s -> {DEFAULT_SYNC_PERIOD / speed:.2f}s; stabilization windows and "
                 "policy periods run on the scenario clock: "
                 + (", ".join(f"{d} {r.get('stabilizationWindowSeconds') or (300 if d == 'scaleDown' else 0)}s"
                              for d, r in spec["behavior"].items()) if spec.get("behavior")
                    else "the legacy path's 300s downscale stabilization"))
    lines.append(f"  the monitoring mixin's rules: every rate window and for: divided by {speed:g} (a 5m window "
                 f"-> {format_duration(300 / speed)}), evaluated every {format_duration(interval / speed)}")
    lines.append(f"  probe periods, start latency ({scenario.start_latency:g}s), preStop sleep and load steps likewise; "
                 f"the whole scenario takes at most {scenario.planned_seconds / speed / 60:.1f} min of wall time")
    return lines


def fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def run(scenario: Scenario, manifests: Manifests, speed: float, out: Path, app: str, prometheus: str,
        quiet: bool = False, alertmanager: str = ALERTMANAGER) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lab-prometheus-"))
    hpa, spec = manifests.hpa, manifests.hpa["spec"]
    namespace = hpa["metadata"].get("namespace", "default")
    interval, scrape_timeout = scrape_timing(manifests.service_monitor)

    def say(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    say(f"lab: scenario {scenario.name}: {scenario.description}")
    say(f"lab: autoscaler from {manifests.source}: HPA {hpa['metadata']['name']}, "
        f"{spec['minReplicas']}..{spec['maxReplicas']} replicas, metrics "
        + ", ".join(m['type'] for m in spec['metrics'])
        + ("" if spec.get("behavior") else " (no behavior: the legacy path)"))
    for line in speed_note(speed, manifests, interval, scenario):
        say(f"lab: {line}")

    t_wall0 = time.monotonic()

    def clock() -> float:
        return (time.monotonic() - t_wall0) * speed

    template = PodTemplate.from_deployment(manifests.deployment)
    sd_file = work / "pods.json"
    state = {"rs": None}
    sd_lock = threading.Lock()

    def update_targets() -> None:
        """Endpoints changed (pod threads and the sync loop call this): rewrite the scrape targets."""
        rs = state["rs"]
        if rs is None:
            return
        with sd_lock:
            write_file_sd(sd_file, manifests.service_monitor,
                          [(f"127.0.0.1:{p.port}", namespace, SERVICE, p.name) for p in rs.scrape_targets()],
                          template.container)

    procs = Processes()
    rs = ReplicaSet(template, Node(app, clock, speed, scenario.start_latency, logs, scenario.app_args, update_targets))
    state["rs"] = rs
    ksm = KubeStateMetrics(hpa)
    # Behind Kong (deploy/overlays/kong): the load goes "through Kong", whose upstream latency
    # Kong Operator re-exports for the Service; Prometheus scrapes it as the kong-operator
    # ServiceMonitor says.
    kong = KongOperatorMetrics(SERVICE, namespace) if manifests.kong_monitor else None
    config = {
        "global": {"scrape_interval": format_duration(interval / speed),
                   "evaluation_interval": format_duration(interval / speed)},
        "scrape_configs": [
            service_monitor_job(manifests.service_monitor, [], template.container, file_sd=sd_file, speed=speed),
            {"job_name": "kube-state-metrics", "honor_labels": True,
             "scrape_interval": format_duration(interval / speed),
             "scrape_timeout": format_duration(scrape_timeout / speed),
             "static_configs": [{"targets": [f"127.0.0.1:{ksm.port}"]}]},
        ],
    }
    if kong:
        config["scrape_configs"].append(service_monitor_job(
            manifests.kong_monitor,
            [(f"127.0.0.1:{kong.port}", manifests.kong_monitor["metadata"]["namespace"], "kong-operator-metrics",
              "kong-operator-lab")], "manager", speed=speed))
    uses_cpu = any(m["type"] == "Resource" for m in spec["metrics"])
    metrics_server = None
    load = None
    faults = None
    start = 0.0  # the scenario clock when the first phase began
    rows: list[dict] = []
    phase_starts: list[dict] = []
    result: dict = {}
    interrupted = {"signal": None}

    def on_signal(signum, _frame):
        interrupted["signal"] = signum
        raise KeyboardInterrupt

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    inputs = open(out / "inputs.jsonl", "w")
    alert_log = None
    episodes: list[dict] = []
    dash = None
    try:
        am, am_port = start_alertmanager(procs, work, alertmanager)
        config["rule_files"] = [str(write_rule_file(work / "mixin-rules.yaml", speed))]
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]}
        alert_log = AlertLog(am, clock, out)
        prom = start_prometheus(procs, work, config, prometheus)
        say(f"lab: Alertmanager {am.base} receives the alerts of the monitoring mixin ("
            + ", ".join(alert_names()) + "); alerts.jsonl records them")
        say(f"lab: Prometheus {prom.base} scrapes the pods every {interval / speed:.2f}s "
            f"(ServiceMonitor {interval:g}s / SPEED) and the HPA's kube-state-metrics on :{ksm.port}"
            + (f"; Kong Operator's upstream latency on :{kong.port}" if kong else ""))
        adapter = Adapter(prom, adapter_rules(), speed)
        if uses_cpu:
            metrics_server = MetricsServer(
                lambda: {p.name: p.proc.pid for p in rs.scrape_targets() if p.proc}, clock, speed).start()
        client = LabMetrics(adapter, manifests, metrics_server, clock, speed)
        controller = HorizontalController()
        rs.scale(template.replicas)
        wait_until("the first pod ready", lambda: rs.ready_count() >= template.replicas, 120, 0.05)
        first = rs.live()[0].name
        wait_until("the first pod scraped", lambda: any(
            r["metric"].get("pod") == first for r in prom.query(f'up{{job="{SERVICE}"}} == 1')), 60)
        load = LoadGenerator(rs.endpoints, 0.0,
                             on_answer=(lambda seconds: kong.observe(seconds * 1000)) if kong else None,
                             clock=clock).start()

        start, wall_start = clock(), time.time()
        alert_log.begin(start)
        if scenario.faults:
            faults = FaultInjector(scenario.faults, clock, speed, prometheus=PrometheusProcess(procs, prom, work),
                                   adapter=adapter, rs=rs, say=say).start(start)
        phase_i, phase_start, settle_seen = 0, start, False
        phase_starts.append({"name": scenario.phases[0].name, "rps": scenario.phases[0].rps, "t_seconds": 0.0})
        load.set_rate(scenario.phases[0].rps)
        next_sync = start
        say(f"lab: scenario starts; phase {scenario.phases[0].name} at {scenario.phases[0].rps:g} req/s")
        header = (f"{'t(s)':>7} {'phase':<10} {'rps':>5} {'ready':>5} {'cur':>4} {'rec':>4} {'des':>4} "
                  f"{'metric value/target':>22} {'p95(s)':>7} {'sent':>7} {'fail':>4}  reason")
        while True:
            now = clock()
            phase = scenario.phases[phase_i]
            ended = phase.seconds is not None and now - phase_start >= phase.seconds
            if phase.until == "min_replicas" and (settle_seen or now - phase_start >= phase.max_seconds):
                ended = True
            if ended:
                phase_i += 1
                if phase_i == len(scenario.phases):
                    break
                phase_start, settle_seen = now, False
                phase_starts.append({"name": scenario.phases[phase_i].name, "rps": scenario.phases[phase_i].rps,
                                     "t_seconds": round(now - start, 2)})
                load.set_rate(scenario.phases[phase_i].rps)
                say(f"lab: t={now - start:.0f}s phase {scenario.phases[phase_i].name} at "
                    f"{scenario.phases[phase_i].rps:g} req/s")
                continue
            if now < next_sync:
                wake = next_sync
                if phase.seconds is not None:
                    wake = min(wake, phase_start + phase.seconds)
                time.sleep(max(0.0, wake - now) / speed)
                continue

            # -- one HPA sync --
            pods = rs.controller_pods()
            states = rs.states()
            spec_replicas, status_replicas = rs.replicas, len(rs.live())
            ready = rs.ready_count()
            client.calls = []
            sync = controller.reconcile(hpa, spec_replicas, status_replicas, pods, client, now)
            if sync.rescale:
                rs.scale(sync.desired_replicas)
            counts = load.counts()
            p95 = percentile(load.take_latencies(), 0.95)
            m0 = sync.metrics[0] if sync.metrics else None
            scale = 1 if (m0 and m0.target_type == "Utilization") else 1000
            value = None if (m0 is None or m0.value is None) else m0.value / scale
            target = None if m0 is None else m0.target / scale
            reporting = None
            if m0 and isinstance(m0.raw, dict) and m0.type in ("Pods", "Resource"):
                reporting = len(m0.raw)
            elif m0 and m0.error is None:
                reporting = len([p for p in pods if p.phase == "Running" and not p.deleted])
            row = {
                "t_seconds": round(now - start, 2), "phase": phase.name, "offered_rps": phase.rps,
                "current_replicas": sync.current_replicas, "ready_replicas": ready,
                "pods_with_metrics": reporting if reporting is not None else 0,
                "recommendation": sync.recommendation, "desired_replicas": sync.desired_replicas,
                "metric": m0.name if m0 else "", "metric_value": "" if value is None else round(value, 4),
                "metric_target": "" if target is None else target,
                "p95_seconds": "" if p95 is None else round(p95, 4),
                "sent": counts["sent"], "failed": counts["failed"], "reason": sync.reason(),
                "live_pods": len([s for s in states if not s["deleted"]]),
                "terminating_pods": len([s for s in states if s["deleted"]]),
                "in_flight": counts["in_flight"],
                "able_to_scale": condition_text(sync.conditions, "AbleToScale"),
                "scaling_active": condition_text(sync.conditions, "ScalingActive"),
                "scaling_limited": condition_text(sync.conditions, "ScalingLimited"),
                "restarts": sum(st["restart_count"] for st in states),
                "all_metrics": json.dumps([
                    [m.name, None if m.value is None else m.value / (1 if m.target_type == "Utilization" else 1000),
                     m.target / (1 if m.target_type == "Utilization" else 1000), m.replicas] for m in sync.metrics]),
            }
            rows.append(row)
            inputs.write(json.dumps({
                "t_seconds": row["t_seconds"], "clock": round(now, 3), "scale": {"spec_replicas": spec_replicas,
                                                                               "status_replicas": status_replicas},
                "pods": states, "metrics_api": client.calls,
                "metrics": [{"name": m.name, "type": m.type, "target_type": m.target_type,
                             "target": m.target if m.target_type == "Utilization" else quantity.format_milli(m.target),
                             "replicas": m.replicas, "value": m.value, "error": m.error,
                             "usage_ratio": None if not m.proposal else m.proposal.usage_ratio}
                            for m in sync.metrics],
                "decision": {"recommendation": sync.recommendation, "stabilized": sync.stabilized,
                             "desired_replicas": sync.desired_replicas, "rescale": sync.rescale,
                             "rescale_reason": sync.rescale_reason, "error": sync.error,
                             "conditions": {k: list(v) for k, v in sync.conditions.items()}},
            }) + "\n")
            inputs.flush()
            ksm.update(sync.current_replicas, sync.desired_replicas,
                       [None if m.value is None else m.value / (1 if m.target_type == "Utilization" else 1000)
                        for m in sync.metrics], sync.conditions)
            if len(rows) % 20 == 1:
                say(header)
            mv = f"{fmt(value)}/{fmt(target, 'g')}"
            say(f"{row['t_seconds']:7.1f} {phase.name[:10]:<10} {phase.rps:5.1f} {ready:5d} {sync.current_replicas:4d} "
                f"{sync.recommendation:4d} {sync.desired_replicas:4d} {mv:>22} {fmt(p95):>7} {counts['sent']:7d} "
                f"{counts['failed']:4d}  {row['reason']}")
            if phase.until == "min_replicas" and sync.desired_replicas == spec["minReplicas"] \
                    and sync.current_replicas == spec["minReplicas"] and ready == spec["minReplicas"] \
                    and not any(s["deleted"] for s in states) and any(r["current_replicas"] > spec["minReplicas"]
                                                                       for r in rows):
                settle_seen = True
            next_sync += DEFAULT_SYNC_PERIOD
        # The decisions as kube-state-metrics names, read back from the lab's own Prometheus.
        time.sleep(2 * interval / speed)
        seen = prom.query(f'kube_horizontalpodautoscaler_status_current_replicas'
                          f'{{namespace="{namespace}",horizontalpodautoscaler="{hpa["metadata"]["name"]}"}}')
        result["prometheus_kube_state_metrics_current_replicas"] = float(seen[0]["value"][1]) if seen else None
        # Every query of the mixin's dashboard over the run, on this Prometheus.
        dash = dashboard.evaluate(prom, {"namespace": namespace, "job": SERVICE, "hpa": hpa["metadata"]["name"]},
                                  interval, speed, wall_start, time.time())
        dashboard.write(dash, out)
        targets = [t for p in dash["panels"] for t in p["targets"]]
        result["dashboard_queries"] = {"targets": len(targets), "with_data": sum(1 for t in targets if t["series"]),
                                       "problems": dashboard.problems(dash),
                                       "allowed_empty": sorted({t["may_be_empty"] for t in targets
                                                                if not t["series"] and t["may_be_empty"]})}
        say(f"lab: dashboard: {result['dashboard_queries']['with_data']} of {len(targets)} panel queries returned "
            f"data over the run; problems: {result['dashboard_queries']['problems'] or 'none'}")
        say(f"lab: scenario done after {clock() - start:.0f} scenario seconds "
            f"({(clock() - start) / speed:.0f} s wall); draining")
    except KeyboardInterrupt:
        say(f"lab: interrupted (signal {interrupted['signal'] or 'SIGINT'}); writing what was recorded")
        result["interrupted"] = True
    finally:
        inputs.close()
        if faults:
            faults.stop()
        if alert_log:
            episodes = alert_log.stop()
        if load:
            load.stop()
        codes = rs.stop()
        if metrics_server:
            metrics_server.stop()
        ksm.stop()
        if kong:
            kong.stop()
        procs.stop_all()
        for s, h in old.items():
            signal.signal(s, h)
        shutil.rmtree(work, ignore_errors=True)

    with open(out / "timeline.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    counts = load.counts() if load else {"sent": 0, "failed": 0, "failures": {}}
    summary = summarize(rows, scenario, manifests, speed, counts, rs.max_live, codes, phase_starts)
    summary.update(result)
    failure_log = [(round(t - start, 2), c, pod) for t, c, pod in (load.failures_since(0) if load else [])]
    with open(out / "failures.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_seconds", "cause", "pod"])
        w.writerows(failure_log)
    summary.update(fault_reports(faults.bands if faults else [], rows, failure_log))
    summary["alerts"] = [{"alert": e["alert"], "fired_at": e["fired_at"], "resolved_at": e["resolved_at"]}
                         for e in episodes]
    if alert_log:
        summary["alertmanager_polls"] = {"answered": alert_log.polls_ok, "failed": len(alert_log.errors)}
        if alert_log.errors:
            say(f"lab: {len(alert_log.errors)} Alertmanager polls failed (first: {alert_log.errors[0]})")
    for e in episodes:
        say(f"lab: alert {e['alert']} fired at {e['fired_at']:.0f}s, "
            + (f"resolved at {e['resolved_at']:.0f}s" if e["resolved_at"] is not None else "still firing at the end")
            + f" {json.dumps({k: v for k, v in e['labels'].items() if k != 'alertname'})}")
    if not episodes:
        say("lab: no alert reached Alertmanager")
    if scenario.expect:
        summary["expectations"] = {key: {"expected": want, "got": summary.get(key), "met": met(want, summary.get(key))}
                                   for key, want in scenario.expect.items() if key not in ("alerts_fired", "no_alerts")}
        summary["expectations"].update(
            expectations(scenario.expect, episodes, watched=alert_log.watched() if alert_log else False))
        for key, e in summary["expectations"].items():
            say(f"lab: expected {key} {e['expected']}, got {e['got']}: {'met' if e['met'] else 'MISSED'}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    try:
        from lab.chart import draw
        charts = draw(rows, summary, out)
        say(f"lab: chart {', '.join(str(c) for c in charts)}")
        if dash:
            from lab.dashboard_preview import draw as draw_dashboard
            say(f"lab: dashboard preview {draw_dashboard(dash, out, scenario.name, summary['alerts'])}")
    except ImportError as e:  # matplotlib missing: the lab's requirements install it
        say(f"lab: no chart: {e} (make lab installs matplotlib into .venv)")
    say(f"lab: wrote {out}/timeline.csv, inputs.jsonl, summary.json, alerts.jsonl, failures.csv")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="default", help="a name in lab/scenarios/ or a path (default: default)")
    ap.add_argument("--speed", type=float, default=1.0, help="divide every duration by this (default 1)")
    ap.add_argument("--out", default=None, help="output folder (default: .build-lab/<scenario>)")
    ap.add_argument("--hpa", default=None, help="an autoscaling/v2 HPA (or KEDA ScaledObject) manifest to run instead")
    ap.add_argument("--app", default=str(ROOT / ".build/debug/metrics-app"))
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--alertmanager", default=ALERTMANAGER)
    ap.add_argument("--kubectl", default=str(ROOT / ".venv/bin/kubectl"))
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.speed <= 0:
        ap.error("--speed must be positive")
    for problem in (require_tool(args.app, "build it: swift build --product metrics-app"),
                    require_tool(args.prometheus, "Debian package prometheus: apt-get install prometheus"),
                    require_tool(args.alertmanager,
                                 "Debian package prometheus-alertmanager: apt-get install prometheus-alertmanager")):
        if problem:
            print(f"lab: FAIL {problem}", file=sys.stderr)
            return 1
    try:
        scenario = load_scenario(args.scenario)
        manifests = load_manifests(scenario, args.kubectl, args.hpa)
    except (ScenarioError, ValueError) as e:
        print(f"lab: FAIL {e}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else ROOT / ".build-lab" / scenario.name
    try:
        summary = run(scenario, manifests, args.speed, out, args.app, args.prometheus, args.quiet, args.alertmanager)
    except (RuntimeError, OSError, ValueError) as e:  # Prometheus or a pod did not come up, a bad template
        print(f"lab: FAIL {e}", file=sys.stderr)
        return 1
    return 1 if summary.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
