"""metrics.k8s.io for the lab's pods, as metrics-server serves it: CPU usage per pod over the
last window, from each process's CPU time (utime + stime in /proc/<pid>/stat).

metrics-server scrapes each kubelet every --metric-resolution (15 s by default) and reports the
usage between its last two samples, with their window; the lab samples every pod's process at
the same resolution (divided by SPEED) and does the same. A pod shows up once it has two samples.
"""
from __future__ import annotations

import os
import threading
from typing import Callable

from lab.controller import MetricsError, PodMetric

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RESOLUTION = 15.0  # metrics-server --metric-resolution


def process_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


class MetricsServer:
    def __init__(self, pids: Callable[[], dict[str, int]], clock: Callable[[], float], speed: float,
                 resolution: float = RESOLUTION) -> None:
        self.pids = pids  # pod name -> pid of its running container
        self.clock = clock
        self.speed = speed
        self.resolution = resolution
        self._last: dict[str, tuple[float, float]] = {}  # pod -> (scenario time, cpu seconds)
        self._usage: dict[str, PodMetric] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-server", daemon=True)

    def start(self) -> "MetricsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.resolution / self.speed)

    def sample(self) -> None:
        now = self.clock()
        seen = {}
        for pod, pid in self.pids().items():
            cpu = process_cpu_seconds(pid)
            if cpu is None:
                continue
            seen[pod] = (now, cpu)
            prev = self._last.get(pod)
            if prev and now > prev[0]:
                wall = (now - prev[0]) / self.speed  # CPU time is real time: compare with wall seconds
                cores = (cpu - prev[1]) / wall
                with self._lock:
                    self._usage[pod] = PodMetric(int(cores * 1000), now, now - prev[0])
        with self._lock:
            self._last = seen
            self._usage = {p: m for p, m in self._usage.items() if p in seen}

    def pod_metrics(self, pod_names: list[str]) -> dict[str, PodMetric]:
        with self._lock:
            found = {p: m for p, m in self._usage.items() if p in pod_names}
        if not found:
            raise MetricsError("unable to get metrics for resource cpu: no metrics returned from resource metrics API")
        return found
