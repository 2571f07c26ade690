"""metrics-app processes as the pods of a Deployment's ReplicaSet, on loopback ports.

A pod is created Pending (its startTime set, as the kubelet acknowledges it), its container (a
real metrics-app process, with the Deployment's env, on 127.0.0.1:<port>) starts after the
scenario's start latency, and it turns ready only as its probes say: the startupProbe first, then
the readinessProbe after initialDelaySeconds, every periodSeconds, successThreshold successes in
a row to become ready and failureThreshold failures to become unready, each with timeoutSeconds.
Deleting a pod takes it out of the endpoints at once; its preStop sleep runs, then SIGTERM (the
app fails readiness and drains in-flight requests), then SIGKILL after
terminationGracePeriodSeconds. Scale-down picks pods the way a ReplicaSet does
(controller.ActivePodsWithRanks): not-yet-running before running, not-ready before ready, the
most recently ready first, the newest first.

A container that exits on its own (a crash: lab/faults.py SIGKILLs one) is noticed within the
kubelet's PLEG relist period, the pod turns unready (out of the endpoints), and the kubelet starts
the container again with the CrashLoopBackOff delays of lab/kubelet.py, counting restartCount; a
startupProbe that reaches failureThreshold kills the container the same way.

Every duration of the pod spec but timeoutSeconds is divided by `speed` (the lab's SPEED).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import string
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lab import quantity
from lab.controller import Pod
from lab.kubelet import PLEG_RELIST_PERIOD, CrashLoopBackOff, PodFaults
from lab.prometheus import free_port, http_get


@dataclass
class Probe:
    path: str
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def from_spec(cls, spec: dict | None) -> "Probe | None":
        if not spec:
            return None
        http = spec.get("httpGet")
        if not http:
            raise ValueError(f"the lab runs httpGet probes only, not {sorted(spec)}")
        return cls(http.get("path", "/"), spec.get("initialDelaySeconds", 0), spec.get("periodSeconds", 10),
                   spec.get("timeoutSeconds", 1), spec.get("successThreshold", 1), spec.get("failureThreshold", 3))


@dataclass
class PodTemplate:
    """What the lab takes from the Deployment (after kustomize) for each pod."""

    name: str
    namespace: str
    container: str
    env: dict[str, str]
    args: list[str]
    readiness: Probe | None
    startup: Probe | None
    pre_stop_sleep: float
    termination_grace: float
    requests: dict[str, int]  # resource -> milli
    replicas: int = 1

    @classmethod
    def from_deployment(cls, deployment: dict) -> "PodTemplate":
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        containers = pod["containers"]
        if len(containers) != 1:
            raise ValueError("the lab runs Deployments with one container (metrics-app)")
        c = containers[0]
        env = {}
        for e in c.get("env", []):
            if "value" not in e:
                raise ValueError(f"env {e['name']}: the lab takes literal values only (no valueFrom)")
            env[e["name"]] = str(e["value"])
        pre_stop = 0.0
        command = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
        if command[:1] == ["sleep"] and len(command) == 2:
            pre_stop = float(command[1])
        elif command:
            raise ValueError(f"preStop {command}: the lab runs `sleep N` only")
        requests = {k: quantity.milli(v) for k, v in ((c.get("resources") or {}).get("requests") or {}).items()}
        return cls(deployment["metadata"]["name"], deployment["metadata"].get("namespace", "default"), c["name"], env,
                   [str(a) for a in c.get("args", [])], Probe.from_spec(c.get("readinessProbe")),
                   Probe.from_spec(c.get("startupProbe")), pre_stop, float(pod.get("terminationGracePeriodSeconds", 30)),
                   requests, spec.get("replicas", 1))

    def template_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.env, sort_keys=True).encode()).hexdigest()[:10]


@dataclass
class Node:
    """What every pod of the lab shares: the binary, the scenario clock, SPEED, the container start
    latency, the log folder, extra flags, and whom to tell when endpoints change."""

    app: str
    clock: Callable[[], float]
    speed: float
    start_latency: float
    workdir: Path
    extra_args: list[str]
    on_change: Callable[[], None]
    faults: PodFaults = field(default_factory=PodFaults)


class LabPod:
    """One pod: a metrics-app process and its kubelet-like prober."""

    def __init__(self, name: str, template: PodTemplate, node: Node) -> None:
        self.name = name
        self.template = template
        self.app = node.app
        self.clock = node.clock
        self.speed = node.speed
        self.start_latency = node.start_latency
        self.workdir = node.workdir
        self.extra_args = node.extra_args
        self.on_change = node.on_change
        self.faults = node.faults
        self.extra_start = node.faults.start_delay()  # slow_start, for the pods made while it lasts
        self.backoff = CrashLoopBackOff()
        self.restart_count = 0
        self.waiting_reason: str | None = None  # CrashLoopBackOff while a restart waits
        self.last_exit: dict | None = None  # the last container exit: code, at, why
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.created = self.clock()
        self.start_time = self.created
        self.phase = "Pending"
        self.ready = False
        self.ready_transition = self.created
        self.ever_ready_at: float | None = None
        self.deleted = False
        self.deleted_at: float | None = None
        self.exited_at: float | None = None
        self.exit_code: int | None = None
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pod-{name}", daemon=True)
        self._thread.start()

    # -- status --
    def controller_pod(self) -> Pod:
        with self._lock:
            return Pod(self.name, phase=self.phase, ready=self.ready, start_time=self.start_time,
                       ready_transition_time=self.ready_transition, deleted=self.deleted,
                       requests=dict(self.template.requests))

    def state(self) -> dict:
        with self._lock:
            return {"name": self.name, "phase": self.phase, "ready": self.ready, "deleted": self.deleted,
                    "created": round(self.created, 3), "start_time": round(self.start_time, 3),
                    "ready_transition": round(self.ready_transition, 3),
                    "ready_since": None if self.ever_ready_at is None else round(self.ever_ready_at, 3),
                    "deleted_at": None if self.deleted_at is None else round(self.deleted_at, 3),
                    "port": self.port, "pid": self.proc.pid if self.proc else None,
                    "restart_count": self.restart_count, "waiting": self.waiting_reason,
                    "last_exit": self.last_exit}

    @property
    def serving(self) -> bool:
        """In the Service's endpoints: running, ready, not being deleted."""
        with self._lock:
            return self.phase == "Running" and self.ready and not self.deleted

    @property
    def scraped(self) -> bool:
        """In the endpoints at all (ready or not): what the ServiceMonitor's Prometheus scrapes."""
        with self._lock:
            return self.phase == "Running" and not self.deleted

    @property
    def gone(self) -> bool:
        with self._lock:
            return self.exited_at is not None or (self.deleted and self.proc is None)

    def _set_ready(self, ready: bool) -> None:
        with self._lock:
            if self.ready == ready or self.deleted:
                return
            self.ready = ready
            self.ready_transition = self.clock()
            if ready:
                self.ever_ready_at = self.ready_transition
        self.on_change()

    # -- the kubelet --
    def _sleep(self, scenario_seconds: float) -> bool:
        """Sleeps scenario seconds; True when told to stop."""
        return self._stop.wait(max(0.0, scenario_seconds) / self.speed)

    def _probe(self, probe: Probe, readiness: bool = False) -> bool:
        if readiness and self.faults.readiness_fails(self.name):
            return False  # readiness_flap: the probe fails whatever the app answers
        try:
            # timeoutSeconds stays real: it bounds a real request, which SPEED does not make faster
            status, _ = http_get(f"{self.url}{probe.path}", timeout=probe.timeout)
            return 200 <= status < 400
        except OSError:
            return False

    def _run(self) -> None:
        try:
            self._lifecycle()
        except Exception as e:  # noqa: BLE001 - a broken pod must show as one, not vanish
            with self._lock:
                self.phase = "Failed"
            (self.workdir / f"{self.name}.error").write_text(f"{type(e).__name__}: {e}\n")

    def _lifecycle(self) -> None:
        if self._sleep(self.start_latency):
            return
        while True:
            why = self._container()
            if why is None:
                return  # deleted, or the lab ends
            finished = self.clock()
            with self._lock:
                code = self.proc.poll() if self.proc else None
                self.last_exit = {"at": round(finished, 3), "exit_code": code, "reason": why}
            delay = self.backoff.delay(finished)
            if delay:
                with self._lock:
                    self.waiting_reason = "CrashLoopBackOff"
            if self._sleep(delay):
                return
            self.backoff.restarted(finished, self.clock())
            with self._lock:
                self.waiting_reason = None
                self.restart_count += 1

    def _container(self) -> str | None:
        """Runs the container once: until it exits (returns why) or the pod stops (None)."""
        with self._lock:
            if self.deleted:
                return None
            self.phase = "Running"
            container_started = self.clock()
        self.on_change()
        # slow_start: the process starts listening this much later (Running, not yet serving)
        if self.extra_start and self._sleep(self.extra_start):
            return None
        env = {k: v for k, v in os.environ.items() if not k.startswith("METRICS_APP_")}
        env.update(self.template.env)
        argv = [self.app, *self.template.args, *self.extra_args, "--host", "127.0.0.1", "--port", str(self.port)]
        with self._lock:
            if self.deleted:
                return None
            log = open(self.workdir / f"{self.name}.log", "ab")
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            log.close()
            proc = self.proc
        startup = self.template.startup
        if startup:
            failures = 0
            while not self._probe(startup):
                if proc.poll() is not None:  # died before it started answering
                    self._set_ready(False)
                    return "Error"
                failures += 1
                if failures >= startup.failure_threshold:
                    proc.kill()  # the kubelet kills it and restarts it (restartPolicy Always)
                    proc.wait()
                    self._set_ready(False)
                    return "startup probe failed"
                if self._sleep(startup.period):
                    return None
        readiness = self.template.readiness
        if readiness is None:
            self._set_ready(True)
            next_probe = float("inf")
        else:
            next_probe = container_started + readiness.initial_delay
        successes = failures = 0
        while not self._stop.is_set():
            if proc.poll() is not None:  # the PLEG relist saw the container exit
                self._set_ready(False)
                return "Error" if proc.returncode else "Completed"
            now = self.clock()
            if readiness is not None and now >= next_probe:
                if self._probe(readiness, readiness=True):
                    successes, failures = successes + 1, 0
                    if successes >= readiness.success_threshold:
                        self._set_ready(True)
                else:
                    successes, failures = 0, failures + 1
                    if failures >= readiness.failure_threshold:
                        self._set_ready(False)
                next_probe += readiness.period
                now = self.clock()
            if self._sleep(min(PLEG_RELIST_PERIOD, max(0.0, next_probe - now))):
                return None
        return None

    def crash(self) -> bool:
        """SIGKILL the container's process (a crash); False when there is none running."""
        with self._lock:
            proc = self.proc
            if self.deleted or proc is None or proc.poll() is not None:
                return False
        proc.send_signal(signal.SIGKILL)
        return True

    # -- deletion --
    def delete(self) -> None:
        """Out of the endpoints now; preStop sleep, SIGTERM, SIGKILL after the grace period."""
        with self._lock:
            if self.deleted:
                return
            self.deleted = True
            self.deleted_at = self.clock()
        self._stop.set()
        self.on_change()
        threading.Thread(target=self._terminate, name=f"terminate-{self.name}", daemon=True).start()

    def _terminate(self) -> None:
        grace = self.template.termination_grace / self.speed
        deadline = time.monotonic() + grace
        time.sleep(min(self.template.pre_stop_sleep / self.speed, grace))
        with self._lock:
            proc = self.proc
        if proc is None:
            with self._lock:
                self.exited_at = self.clock()
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        with self._lock:
            self.exit_code = code
            self.exited_at = self.clock()

    def kill_now(self) -> None:
        """End of the lab: no grace."""
        self._stop.set()
        with self._lock:
            self.deleted = True
            proc = self.proc
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                self.exit_code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                self.exit_code = proc.wait()


def _delete_rank(pod: LabPod) -> tuple:
    """Sort key, smallest deleted first (ActivePodsWithRanks, single node)."""
    s = pod.state()
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(s["phase"], 2)
    return (phase_rank, 1 if s["ready"] else 0,
            -(s["ready_since"] or 0.0) if s["ready"] else 0.0,  # ready for a shorter time first
            -s["created"])  # newer first


class ReplicaSet:
    """The pods of one pod template, scaled like a ReplicaSet."""

    def __init__(self, template: PodTemplate, node: Node) -> None:
        self.template = template
        self.node = node
        self.replicas = 0
        self.pods: list[LabPod] = []  # every pod ever made, deleted ones too
        self.max_live = 0
        self._lock = threading.RLock()
        self._hash = template.template_hash()
        self._rng = random.Random(7)

    def _name(self) -> str:
        suffix = "".join(self._rng.choice(string.ascii_lowercase + string.digits) for _ in range(5))
        return f"{self.template.name}-{self._hash}-{suffix}"

    def live(self) -> list[LabPod]:
        with self._lock:
            return [p for p in self.pods if not p.deleted]

    def scale(self, replicas: int) -> None:
        with self._lock:
            self.replicas = replicas
            live = self.live()
            for _ in range(replicas - len(live)):
                self.pods.append(LabPod(self._name(), self.template, self.node))
            if len(live) > replicas:
                for pod in sorted(live, key=_delete_rank)[: len(live) - replicas]:
                    pod.delete()
            self.max_live = max(self.max_live, len(self.live()))
        self.node.on_change()

    def endpoints(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(p.name, p.url) for p in self.pods if p.serving]

    def scrape_targets(self) -> list[LabPod]:
        with self._lock:
            return [p for p in self.pods if p.scraped]

    def controller_pods(self) -> list[Pod]:
        """What the HPA lists by the selector: every pod not yet gone (terminating ones too)."""
        with self._lock:
            return [p.controller_pod() for p in self.pods if not p.gone]

    def states(self) -> list[dict]:
        with self._lock:
            return [p.state() for p in self.pods if not p.gone]

    def ready_count(self) -> int:
        return len(self.endpoints())

    def stop(self) -> dict[str, int | None]:
        """End of the lab: SIGTERM to every pod still running; their exit codes (the ones deleted
        earlier too)."""
        with self._lock:
            pods = list(self.pods)
        for p in pods:
            p.kill_now()
        return {p.name: p.exit_code for p in pods if p.proc is not None}
