"""Kong Gateway in front of the pods, as far as an autoscaler sees it: Kong Operator's /metrics.

With a DataPlaneMetricsExtension (deploy/overlays/kong), Kong measures the upstream latency of
every request it proxies to the metrics-app Service and Kong Operator re-exports it on its own
/metrics as the histogram `kong_upstream_latency_ms`, enriched with the Service's identity.
Prometheus scrapes that through the kong-operator ServiceMonitor (in kong-system, so the
`service`/`namespace` labels become `exported_service`/`exported_namespace`), and the adapter's
kong_upstream_latency_ms_60s_average rule turns it into an Object metric on the Service.

The stand-in serves that histogram from the latencies it is given: in the lab, those of every
request the load generator got an answer to (the load goes "through Kong"); in the end-to-end
check, a fixed series. Shared by lab/run.py and scripts/ship/e2e_prometheus.py.
"""
from __future__ import annotations

import bisect
import threading
from typing import Callable

from lab.prometheus import MetricsEndpoint

# Upper bounds (ms) of the latency buckets, as Kong's Prometheus plugin has them by default.
BUCKETS_MS = [1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 1000, 2000, 5000,
              10000, 30000, 60000]


class KongOperatorMetrics:
    """A /metrics endpoint with `kong_upstream_latency_ms` for one Service, on a loopback port."""

    def __init__(self, service: str, namespace: str, before_render: Callable[[], None] | None = None) -> None:
        """`before_render`, if given, runs before each scrape is rendered (a feed that observes
        by the clock, so the counts are exact at scrape time)."""
        self.before_render = before_render
        self.labels = (f'service="{service}",namespace="{namespace}",kubernetes_kind="Service",'
                       f'kubernetes_name="{service}",kubernetes_namespace="{namespace}"')
        self._lock = threading.Lock()
        self._buckets = [0] * (len(BUCKETS_MS) + 1)
        self._sum = 0.0
        self._count = 0
        self.endpoint = MetricsEndpoint(self.render, "kong-operator")
        self.port = self.endpoint.port

    def observe(self, milliseconds: float) -> None:
        """One proxied request's upstream latency."""
        with self._lock:
            self._buckets[bisect.bisect_left(BUCKETS_MS, milliseconds)] += 1
            self._sum += milliseconds
            self._count += 1

    def render(self) -> str:
        if self.before_render:
            self.before_render()
        with self._lock:
            buckets, total, count = list(self._buckets), self._sum, self._count
        lines = ["# HELP kong_upstream_latency_ms Upstream latency in ms, enriched by Kong Operator.",
                 "# TYPE kong_upstream_latency_ms histogram"]
        cumulative = 0
        for bound, n in zip([*map(str, BUCKETS_MS), "+Inf"], buckets):
            cumulative += n
            lines.append(f'kong_upstream_latency_ms_bucket{{{self.labels},le="{bound}"}} {cumulative}')
        lines.append(f"kong_upstream_latency_ms_sum{{{self.labels}}} {total!r}")
        lines.append(f"kong_upstream_latency_ms_count{{{self.labels}}} {count}")
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.endpoint.stop()
