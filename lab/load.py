"""Open-loop HTTP load on loopback, spread over endpoints the way a Service does.

Request i of a constant-rate stretch goes out at its scheduled time whatever the earlier ones
do (open loop: a slow server gets more requests in flight, not fewer requests). Each request
goes to the next endpoint in round-robin order over the endpoints list as it is at that moment,
so an endpoint that leaves the list (a pod being deleted) gets no new request. Every request
sent is counted, and every failure with its cause (`cause`: connection refused, connection
reset, 503 while draining, timeout, no ready endpoint), the pod it went to and when (on the
caller's clock); latencies are kept for percentiles.
"""
from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Callable
from urllib.parse import urlsplit

Endpoints = Callable[[], list[tuple[str, str]]]  # -> [(name, base URL)]

NO_ENDPOINT = "no ready endpoint"
DRAINING = "503 while draining"  # metrics-app answers 503 once SIGTERM has started its drain


def cause(error: BaseException | None = None, status: int | None = None) -> str:
    """Why a request failed, in the words of the fault it shows: a dead pod refuses connections,
    one killed mid-request resets them, a draining one answers 503, a stopped one times out."""
    if error is None:
        return DRAINING if status == 503 else f"HTTP {status}"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                          http.client.IncompleteRead)):
        return "connection reset"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(error).__name__


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 1)))  # ceil(q * n)
    return ordered[min(rank, len(ordered)) - 1]


class LoadGenerator:
    def __init__(self, endpoints: Endpoints, rate: float = 0.0, path: str = "/", timeout: float = 60.0,
                 workers: int = 256, on_answer: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`on_answer`, if given, gets the latency (seconds) of every request answered with a
        response of any status (what a proxy in front, such as Kong, would measure). `clock`
        stamps each failure (the lab passes its scenario clock)."""
        self.clock = clock
        self.endpoints = endpoints
        self.on_answer = on_answer
        self.path = path
        self.timeout = timeout
        self._rate = rate
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load")
        self._thread = threading.Thread(target=self._pace, name="load-pacer", daemon=True)
        self._rr = 0
        self.sent = 0
        self.ok = 0
        self.failed = 0
        self.in_flight = 0
        self.failures: Counter[str] = Counter()
        self.per_endpoint: Counter[str] = Counter()
        self.failed_per_endpoint: Counter[str] = Counter()
        self.by_cause: Counter[str] = Counter()
        self.failure_log: list[tuple[float, str, str]] = []  # (clock, cause, pod)
        self._window: list[float] = []
        self.started = 0.0

    # -- control --
    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._rate = max(0.0, float(rate))

    @property
    def rate(self) -> float:
        with self._lock:
            return self._rate

    def start(self) -> "LoadGenerator":
        self.started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops sending and waits for every request in flight to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)

    # -- readings --
    def take_latencies(self) -> list[float]:
        """Latencies (seconds) of the requests answered since the last call."""
        with self._lock:
            out, self._window = self._window, []
        return out

    def counts(self) -> dict:
        with self._lock:
            return {"sent": self.sent, "ok": self.ok, "failed": self.failed, "in_flight": self.in_flight,
                    "failures": dict(self.failures), "per_endpoint": dict(self.per_endpoint),
                    "by_cause": dict(self.by_cause)}

    def failures_since(self, index: int) -> list[tuple[float, str, str]]:
        """The failures logged from position `index` on: (clock, cause, pod)."""
        with self._lock:
            return self.failure_log[index:]

    # -- the work --
    def _pace(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            rate = self.rate
            if rate <= 0:
                if self._stop.wait(0.05):
                    break
                due = time.monotonic()
                continue
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            self._dispatch()
            due += 1.0 / rate
            # A rate change or a stall must not make it fire a burst to catch up by more than 1 s.
            due = max(due, time.monotonic() - 1.0)

    def _dispatch(self) -> None:
        targets = self.endpoints()
        with self._lock:
            self.sent += 1
            if not targets:
                self._fail("", NO_ENDPOINT)
                return
            name, url = targets[self._rr % len(targets)]
            self._rr += 1
            self.in_flight += 1
        self._pool.submit(self._one, name, url)

    def _one(self, name: str, base: str) -> None:
        parts = urlsplit(base)
        start = time.monotonic()
        reason = None
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
            try:
                conn.request("GET", self.path, headers={"Connection": "close"})
                resp = conn.getresponse()
                resp.read()
                if self.on_answer:
                    self.on_answer(time.monotonic() - start)
                if resp.status != 200:
                    reason = cause(status=resp.status)
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as e:
            reason = cause(e)
        elapsed = time.monotonic() - start
        with self._lock:
            self.in_flight -= 1
            if reason is None:
                self.ok += 1
                self.per_endpoint[name] += 1
                self._window.append(elapsed)
            else:
                self._fail(name, reason)

    def _fail(self, name: str, reason: str) -> None:
        """Counts one failure (the caller holds the lock)."""
        self.failed += 1
        self.failures[f"{name}: {reason}" if name else reason] += 1
        self.by_cause[reason] += 1
        if name:
            self.failed_per_endpoint[name] += 1
        self.failure_log.append((self.clock(), reason, name))
