"""What the kubelet adds when a container dies: restarts under restartPolicy Always, with the
CrashLoopBackOff delays, and the fault hooks the lab's pods consult (lab/faults.py sets them).

The backoff is the kubelet's (pkg/kubelet/kuberuntime doBackOff over client-go's
flowcontrol.Backoff, 10 s initial, 300 s cap): a container that exits is restarted at once the
first time; each restart doubles the delay the next exit waits (10 s, 20 s, 40 s ... 300 s); an
exit more than 2 x 300 s = 10 minutes after the last restart starts over (the entry has expired).
The lab runs the delays on its scenario clock, so they scale with SPEED like every other duration
of the pod spec (a compressed run shows the same sequence in scenario seconds).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

INITIAL_BACKOFF = 10.0  # kubelet backOffPeriod
MAX_BACKOFF = 300.0  # kubelet MaxContainerBackOff
PLEG_RELIST_PERIOD = 1.0  # how soon the kubelet notices a container exited (PLEG relist)


class CrashLoopBackOff:
    """One container's restart backoff, on the caller's clock (seconds)."""

    def __init__(self, initial: float = INITIAL_BACKOFF, cap: float = MAX_BACKOFF) -> None:
        self.initial = initial
        self.cap = cap
        self.backoff: float | None = None  # no entry yet
        self.last_update = 0.0

    def _expired(self, finished_at: float) -> bool:
        return finished_at - self.last_update > 2 * self.cap

    def delay(self, finished_at: float) -> float:
        """Seconds after an exit at `finished_at` before the kubelet starts the container again
        (IsInBackOffSince: no entry, or an expired one, means no wait)."""
        if self.backoff is None or self._expired(finished_at):
            return 0.0
        return self.backoff

    def restarted(self, finished_at: float, now: float) -> None:
        """The container was started again at `now` (backOff.Next)."""
        if self.backoff is None or self._expired(finished_at):
            self.backoff = self.initial
        else:
            self.backoff = min(2 * self.backoff, self.cap)
        self.last_update = now


@dataclass
class PodFaults:
    """Faults the kubelet side of the lab applies to pods, set and cleared by lab/faults.py.

    `slow_start`: extra seconds before a new pod's process starts (it is Running but not yet
    listening, so probes and scrapes fail), for pods created while it is set; `failing_readiness`:
    names of pods whose readiness probe fails whatever the app answers."""

    slow_start: float = 0.0
    failing_readiness: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start_delay(self) -> float:
        with self._lock:
            return self.slow_start

    def readiness_fails(self, pod: str) -> bool:
        with self._lock:
            return pod in self.failing_readiness

    def set_slow_start(self, seconds: float) -> None:
        with self._lock:
            self.slow_start = seconds

    def fail_readiness(self, pod: str, failing: bool) -> None:
        with self._lock:
            (self.failing_readiness.add if failing else self.failing_readiness.discard)(pod)
