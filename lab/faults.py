"""Faults in a scenario: the `faults:` list beside `phases:`, each step at a scenario second.

  faults:
    - {type: prometheus_down, at: 240, seconds: 90}   # stop the real Prometheus, start it again on its data
    - {type: adapter_empty, at: 240, seconds: 90}     # the adapter rule's query matches no series
    - {type: pod_crash, at: 300, times: 3}            # SIGKILL one ready pod; again each time it is back
    - {type: pod_crash, at: 600, seconds: 420}        # a crash loop: it dies as it starts, for 420 s
    - {type: slow_start, at: 60, seconds: 20}         # pods created from then on start listening 20 s late
    - {type: readiness_flap, at: 300, seconds: 30}    # one ready pod fails its readiness probe for 30 s

`slow_start` lasts for the rest of the run unless `until` (a scenario second) ends it. Times scale
with SPEED like the phases. The injector runs each fault on its own thread and records a band per
fault (start, end and what it saw) for the summary and the chart.

prometheus_down sends SIGTERM to the lab's Prometheus and, `seconds` later, starts the same
command line again (same config, same --storage.tsdb.path, same port): the head block comes back
from the WAL, which the run checks (`tsdb_kept_data`: a sample from before the stop, read after).
adapter_empty swaps the adapter's rules for copies whose pod resource is read from a label the
series do not have (`kubernetes_pod_name`, what a pre-Operator relabelling wrote): the query
runs and returns no series for any pod, as a rule broken by a relabel change does.
"""
from __future__ import annotations

import copy
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lab.prometheus import Adapter, Processes, Prometheus, http_get

TYPES = ("prometheus_down", "adapter_empty", "pod_crash", "slow_start", "readiness_flap")
WRONG_POD_LABEL = "kubernetes_pod_name"


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    type: str
    at: float
    seconds: float | None = None  # how long it lasts (prometheus_down, adapter_empty, readiness_flap, slow_start;
    #                               pod_crash: a crash loop, the container killed each time it starts)
    times: int = 1  # pod_crash without seconds: crashes of the same pod, each once it is ready again
    until: float | None = None  # slow_start: the scenario second it ends (default: never)


def parse_faults(items: list | None, where: str) -> list[Fault]:
    """The scenario's `faults:` list, checked: a clear error names the entry."""
    faults = []
    for i, item in enumerate(items or []):
        label = f"{where}: faults[{i}]"
        if not isinstance(item, dict) or item.get("type") not in TYPES:
            raise FaultError(f"{label}: type must be one of {', '.join(TYPES)} (got {item!r})")
        unknown = set(item) - {"type", "at", "seconds", "times", "until"}
        if unknown:
            raise FaultError(f"{label}: unknown keys {sorted(unknown)}")
        if not isinstance(item.get("at"), (int, float)) or item["at"] < 0:
            raise FaultError(f"{label}: `at` (scenario seconds, >= 0) is required")
        kind = item["type"]
        seconds = item.get("seconds")
        if kind in ("prometheus_down", "adapter_empty", "readiness_flap", "slow_start") and \
                (not isinstance(seconds, (int, float)) or seconds <= 0):
            raise FaultError(f"{label}: {kind} needs `seconds` > 0")
        times = item.get("times", 1)
        if not isinstance(times, int) or times < 1:
            raise FaultError(f"{label}: `times` must be a positive integer")
        faults.append(Fault(kind, float(item["at"]), None if seconds is None else float(seconds), times,
                            item.get("until")))
    return faults


def relabelled_rules(rules: list[dict]) -> list[dict]:
    """The adapter rules with their pod resource read from a label the series do not carry."""
    out = copy.deepcopy(rules)
    for rule in out:
        overrides = rule.get("resources", {}).get("overrides", {})
        for label, target in list(overrides.items()):
            if target.get("resource") == "pod":
                overrides[WRONG_POD_LABEL] = overrides.pop(label)
    return out


class PrometheusProcess:
    """Stops the lab's Prometheus and starts it again with the same command line and data."""

    def __init__(self, procs: Processes, prom: Prometheus, workdir: Path) -> None:
        self.procs = procs
        self.prom = prom
        self.workdir = workdir
        self.restarts = 0

    def _current(self) -> subprocess.Popen:
        found = [p for name, p in self.procs.procs if name == "prometheus" and p.poll() is None]
        if not found:
            raise RuntimeError("no running Prometheus to stop")
        return found[-1]

    def stop(self, timeout: float = 30) -> list[str]:
        """SIGTERM (a clean shutdown, as a pod deletion or a rollout gives it); its argv."""
        proc = self._current()
        argv = list(proc.args)
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return argv

    def start(self, argv: list[str], timeout: float = 60) -> float:
        """The same command line again; waits until ready. Returns the seconds (wall) it took."""
        self.restarts += 1
        t0 = time.monotonic()
        log = self.workdir / f"prometheus-restart-{self.restarts}.log"
        proc = self.procs.start("prometheus", argv, log)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"Prometheus did not come back (exit {proc.returncode}): "
                                   f"{log.read_text(errors='replace')[-400:]}")
            try:
                if http_get(f"{self.prom.base}/-/ready", 1)[0] == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Prometheus not ready {timeout:.0f}s after its restart; log {log}")


class FaultInjector:
    """Runs a scenario's faults against the lab's parts on the scenario clock."""

    def __init__(self, faults: list[Fault], clock: Callable[[], float], speed: float, *,
                 prometheus: PrometheusProcess, adapter: Adapter, rs, say: Callable[[str], None]) -> None:
        self.faults = faults
        self.clock = clock
        self.speed = speed
        self.prometheus = prometheus
        self.adapter = adapter
        self.rs = rs
        self.say = say
        self.start_at = 0.0
        self.bands: list[dict] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- the scenario clock --
    def _t(self) -> float:
        return round(self.clock() - self.start_at, 2)

    def _sleep_until(self, t: float) -> bool:
        """Waits for scenario second t; True when the run is over first."""
        return self._stop.wait(max(0.0, (self.start_at + t - self.clock()) / self.speed))

    def _wait_for(self, check: Callable[[], bool], limit: float) -> bool:
        """Polls `check` for up to `limit` scenario seconds; its last answer."""
        end = self.clock() + limit
        while not self._stop.is_set() and self.clock() < end:
            if check():
                return True
            self._stop.wait(0.05)
        return check()

    def start(self, start_at: float) -> "FaultInjector":
        self.start_at = start_at
        for i, f in enumerate(self.faults):
            t = threading.Thread(target=self._run_one, args=(i, f), name=f"fault-{f.type}", daemon=True)
            self._threads.append(t)
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
        self.rs.node.faults.set_slow_start(0.0)
        for band in self.bands:  # a fault that lasts to the end of the run (slow_start without until)
            if band["start_seconds"] is not None and band["end_seconds"] is None:
                band["end_seconds"] = self._t()

    def _run_one(self, index: int, fault: Fault) -> None:
        band = {"type": fault.type, "index": index, "start_seconds": None, "end_seconds": None}
        with self._lock:
            self.bands.append(band)
        if self._sleep_until(fault.at):
            return
        try:
            getattr(self, f"_{fault.type}")(fault, band)
        except Exception as e:  # noqa: BLE001 - a fault that could not be applied must say so
            band["error"] = f"{type(e).__name__}: {e}"
            self.errors.append(f"{fault.type} at {fault.at:g}s: {band['error']}")
            self.say(f"lab: fault {fault.type} FAILED: {band['error']}")
            if band["start_seconds"] is not None and band["end_seconds"] is None:
                band["end_seconds"] = self._t()

    # -- the faults --
    def _prometheus_down(self, fault: Fault, band: dict) -> None:
        prom = self.prometheus.prom
        # One kube-state-metrics sample just before the stop: it must still be there after.
        before = time.time()
        probe = f'kube_horizontalpodautoscaler_spec_max_replicas @ {before:.3f}'
        had = bool(prom.query(probe))
        argv = self.prometheus.stop()
        band["start_seconds"] = self._t()
        self.say(f"lab: t={band['start_seconds']:.0f}s fault prometheus_down: Prometheus stopped for {fault.seconds:g}s")
        self._sleep_until(fault.at + fault.seconds)
        wall = self.prometheus.start(argv)
        band["end_seconds"] = self._t()
        band["restart_wall_seconds"] = round(wall, 2)
        band["tsdb_kept_data"] = had and bool(prom.query(probe))
        self.say(f"lab: t={band['end_seconds']:.0f}s Prometheus back after {wall:.1f}s (wall) on its data directory; "
                 f"the sample from before the stop {'is still there' if band['tsdb_kept_data'] else 'is GONE'}")

    def _adapter_empty(self, fault: Fault, band: dict) -> None:
        rules = self.adapter.rules
        self.adapter.rules = relabelled_rules(rules)
        band["start_seconds"] = self._t()
        self.say(f"lab: t={band['start_seconds']:.0f}s fault adapter_empty: the rule's pods are read from "
                 f"`{WRONG_POD_LABEL}` for {fault.seconds:g}s (its query returns no series)")
        self._sleep_until(fault.at + fault.seconds)
        self.adapter.rules = rules
        band["end_seconds"] = self._t()

    def _victim(self):
        """The pod to crash or flap: the oldest one in the endpoints."""
        serving = [p for p in self.rs.pods if p.serving]
        return min(serving, key=lambda p: p.created) if serving else None

    def _pod_crash(self, fault: Fault, band: dict) -> None:
        pod = self._victim()
        if pod is None:
            raise RuntimeError("no ready pod to crash")
        band.update(pod=pod.name, crashes=[])
        band["start_seconds"] = self._t()
        if fault.seconds:
            self._crash_loop(pod, fault, band)
        else:
            for n in range(fault.times):
                if not self._wait_for(lambda: pod.serving, 900):
                    break
                t_kill = self._t()
                if not pod.crash():
                    break
                self.say(f"lab: t={t_kill:.0f}s fault pod_crash: SIGKILL {pod.name} (crash {n + 1} of {fault.times})")
                crash = {"killed_seconds": t_kill}
                band["crashes"].append(crash)
                if self._wait_for(lambda: not pod.serving, 60):
                    crash["out_of_endpoints_after_seconds"] = round(self._t() - t_kill, 2)
                if self._wait_for(lambda: pod.serving, 900):
                    crash["ready_again_after_seconds"] = round(self._t() - t_kill, 2)
                crash["restart_count"] = pod.restart_count
                if self._stop.is_set():
                    break
        band["ready_at_end"] = pod.serving
        band["restart_count"] = pod.restart_count
        band["end_seconds"] = self._t()

    def _crash_loop(self, pod, fault: Fault, band: dict) -> None:
        """Kills the container each time the kubelet starts it, until at + seconds; then waits
        (up to the 300 s backoff cap and a start) for the pod to be ready again."""
        self.say(f"lab: t={band['start_seconds']:.0f}s fault pod_crash: {pod.name} crash-loops for {fault.seconds:g}s")
        end, last = fault.at + fault.seconds, None
        while not self._stop.is_set() and self._t() < end:
            proc = pod.proc
            if proc is not None and proc is not last and pod.crash():
                last = proc
                band["crashes"].append({"killed_seconds": self._t(), "restart_count": pod.restart_count})
            self._stop.wait(0.005)
        band["crash_loop_end_seconds"] = self._t()
        if self._wait_for(lambda: pod.serving, 400):
            band["ready_again_after_loop_seconds"] = round(self._t() - band["crash_loop_end_seconds"], 2)

    def _slow_start(self, fault: Fault, band: dict) -> None:
        self.rs.node.faults.set_slow_start(fault.seconds)
        band["start_seconds"] = self._t()
        band["extra_start_seconds"] = fault.seconds
        self.say(f"lab: t={band['start_seconds']:.0f}s fault slow_start: new pods listen {fault.seconds:g}s later")
        if fault.until is not None:
            self._sleep_until(float(fault.until))
            self.rs.node.faults.set_slow_start(0.0)
            band["end_seconds"] = self._t()

    def _readiness_flap(self, fault: Fault, band: dict) -> None:
        pod = self._victim()
        if pod is None:
            raise RuntimeError("no ready pod to flap")
        faults = self.rs.node.faults
        faults.fail_readiness(pod.name, True)
        band.update(pod=pod.name, start_seconds=self._t())
        self.say(f"lab: t={band['start_seconds']:.0f}s fault readiness_flap: {pod.name} fails readiness for {fault.seconds:g}s")
        self._sleep_until(fault.at + fault.seconds)
        faults.fail_readiness(pod.name, False)
        band["end_seconds"] = self._t()
