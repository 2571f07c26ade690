#!/usr/bin/env python3
"""Starts an example service (Examples/*), sends it requests, and checks its /metrics the way a
Prometheus user would: headers (Content-Type per Accept, gzip, Vary, HEAD), promtool's lint
(`promtool check metrics` must print nothing), both prometheus_client parsers (text 0.0.4 and
the strict OpenMetrics one), the metric names the README promises with their types, and the
values the requests must have left. Then it times gzip scrapes of the same service.

With --exemplars-from-trace (the Hummingbird example) it also sends an order with a W3C
`traceparent` and requires the strict OpenMetrics parser to find that trace on the order's
counter and histogram bucket as exemplars (a child span: same trace id, another span id), and
checks the `name[]` filter and the scrape self-metrics.

Usage: check_example.py [--exemplars-from-trace] BINARY PORT README NAME:TYPE...   (the venv's python)
Exits non-zero with the reason on the first failed check."""
import gzip
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMETHEUS_3_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
OPENMETRICS_0_0_1_ACCEPT = "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
LOAD_SERIES = 1000


def fail(message):
    print(f"check_example: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def request(port, method, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def wait_until_up(port, process):
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            fail(f"the service exited with {process.returncode} before answering")
        try:
            if request(port, "GET", "/hello")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    fail("the service did not answer GET /hello within 60 s")


def parse(script, text):
    python = sys.executable
    result = subprocess.run([python, os.path.join(ROOT, "Tests/conformance", script)], input=text.encode(),
                            capture_output=True)
    if result.returncode != 0:
        fail(f"{script} refused the body:\n{result.stderr.decode()[-2000:]}")
    return json.loads(result.stdout)


def promtool_lint(text):
    try:
        result = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True)
    except FileNotFoundError:
        fail("promtool not found: install Debian's prometheus package (make deps-test)")
    output = (result.stdout + result.stderr).decode().strip()
    if result.returncode != 0 or output:
        fail(f"promtool check metrics (exit {result.returncode}):\n{output}")


def sample(families, name, labels):
    for family in families:
        for s in family["samples"]:
            if s["name"] == name and all(s["labels"].get(k) == v for k, v in labels.items()):
                return float(s["value"])
    fail(f"no sample {name}{labels}")


def check_exemplars(port, om_families, trace_id, parent_span):
    """The traced order's trace on shop_orders_total{kind="book"} and its shop_order_items bucket."""
    found = {}
    for family in om_families:
        for s in family["samples"]:
            exemplar = s.get("exemplar")
            if exemplar and s["name"] in ("shop_orders_total", "shop_order_items_bucket"):
                found[s["name"]] = exemplar["labels"]
    for name in ("shop_orders_total", "shop_order_items_bucket"):
        labels = found.get(name)
        if labels is None or labels.get("trace_id") != trace_id:
            fail(f"{name}: no exemplar of trace {trace_id}: {found}")
        span = labels.get("span_id", "")
        if len(span) != 16 or span == parent_span:
            fail(f"{name}: the exemplar's span_id {span!r} is not the request's own (child) span")


def check_scrape_endpoint(port):
    """name[] selects families; the self-metrics count the scrapes before."""
    status, _, body = request(port, "GET", "/metrics?name[]=shop_orders_total&name%5B%5D=metricskit_scrape_requests_total")
    families = parse("parse_text.py", body.decode())
    names = sorted(f["name"] for f in families)
    if status != 200 or names != ["metricskit_scrape_requests", "shop_orders"]:
        fail(f"GET /metrics?name[]=…: {status}, families {names}")
    if sample(families, "metricskit_scrape_requests_total", {"code": "200", "format": "text", "encoding": "gzip"}) < 1:
        fail("metricskit_scrape_requests_total did not count the gzip scrape")


def check_service(binary, port, readme, promised, traced):
    process = subprocess.Popen([binary, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(port, process)
        trace_id, parent_span = f"{random.getrandbits(128) | 1:032x}", f"{random.getrandbits(64) | 1:016x}"
        if traced:  # the first update of each series claims its exemplar attempt
            status = request(port, "POST", "/orders/book?items=3", {"traceparent": f"00-{trace_id}-{parent_span}-01"})[0]
            if status != 201:
                fail(f"traced POST /orders/book: {status}")
        for _ in range(4 if traced else 5):
            if request(port, "POST", "/orders/book?items=3")[0] != 201:
                fail("POST /orders/book did not answer 201")
        request(port, "POST", "/orders/game?items=12")
        request(port, "POST", "/orders/other")  # refused: 400, still counted by the middleware
        request(port, "GET", "/no-such-route")
        for _ in range(3):
            request(port, "GET", "/hello")

        status, headers, body = request(port, "GET", "/metrics")
        if status != 200 or headers.get("content-type") != TEXT_TYPE:
            fail(f"GET /metrics: {status} {headers.get('content-type')}")
        if headers.get("vary") != "Accept, Accept-Encoding" or "content-encoding" in headers:
            fail(f"GET /metrics headers: {headers}")
        text = body.decode()

        status, headers, compressed = request(port, "GET", "/metrics", {"Accept-Encoding": "gzip"})
        if headers.get("content-encoding") != "gzip":
            fail(f"Accept-Encoding: gzip got {headers}")
        if "# TYPE shop_orders_total counter" not in gzip.decompress(compressed).decode():
            fail("the gzip body does not decode to the metrics page")

        for encoding in [None, "gzip"]:
            extra = {"Accept-Encoding": encoding} if encoding else {}
            status, headers, head_body = request(port, "HEAD", "/metrics", extra)
            length = int(headers.get("content-length", "0"))
            if status != 200 or head_body or headers.get("content-type") != TEXT_TYPE or length < 100:
                fail(f"HEAD /metrics ({encoding}): {status}, {headers}, {len(head_body)} body bytes")
            if encoding and headers.get("content-encoding") != "gzip":
                fail(f"HEAD with gzip: {headers}")

        openmetrics = None
        for accept in [PROMETHEUS_3_ACCEPT, OPENMETRICS_0_0_1_ACCEPT]:
            status, headers, body = request(port, "GET", "/metrics", {"Accept": accept})
            if headers.get("content-type") != OPENMETRICS_TYPE or not body.endswith(b"# EOF\n"):
                fail(f"Accept {accept!r}: {headers.get('content-type')}")
            openmetrics = body.decode()

        promtool_lint(text)
        text_families = parse("parse_text.py", text)
        om_families = parse("parse_openmetrics.py", openmetrics)
        readme_text = open(readme).read()
        types = {f["name"]: f["type"] for f in text_families}
        for name, kind in promised:
            # prometheus_client names a counter family without its `_total`.
            family = name[:-len("_total")] if kind == "counter" and name.endswith("_total") else name
            if types.get(family) != kind:
                fail(f"promised {name} ({kind}), got {types.get(name)}; families: {sorted(types)}")
            if not re.search("`" + re.escape(name) + "[`{]", readme_text):
                fail(f"{name} is checked here but the README does not name it")
        om_names = {f["name"] for f in om_families}
        if "shop_orders" not in om_names or "process_cpu_seconds" not in om_names:
            fail(f"OpenMetrics families: {sorted(om_names)}")

        if traced:
            check_exemplars(port, om_families, trace_id, parent_span)
            check_scrape_endpoint(port)
        if sample(text_families, "shop_orders_total", {"kind": "book"}) != 5:
            fail("shop_orders_total{kind=\"book\"} is not 5")
        if sample(text_families, "shop_order_items_count", {}) != 6:
            fail("shop_order_items_count is not 6")
        if sample(text_families, "http_server_requests_total", {"method": "POST", "status": "201"}) != 6:
            fail("http_server_requests_total{method=\"POST\",status=\"201\"} is not 6")
        if sample(text_families, "http_server_requests_total", {"method": "GET", "route": "/hello"}) < 3:
            fail("fewer than 3 GET /hello requests counted")
        print(f"check_example: {os.path.basename(binary)}: /metrics lint-clean, both parsers accept it, "
              f"{len(promised)} promised names present, gzip, HEAD and OpenMetrics (1.0.0 and 0.0.1 requests) served")
    finally:
        process.terminate()
        process.wait(10)


def time_scrapes(binary, port):
    """Median and p90 of GET /metrics with gzip, with LOAD_SERIES extra series in the registry."""
    process = subprocess.Popen([binary, str(port), str(LOAD_SERIES)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until_up(port, process)
        text = request(port, "GET", "/metrics")[2].decode()
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        times = []
        for _ in range(200):
            start = time.perf_counter()
            status, headers, body = request(port, "GET", "/metrics", {"Accept-Encoding": "gzip"})
            times.append((time.perf_counter() - start) * 1000)
            if status != 200:
                fail(f"scrape under load: {status}")
        times.sort()
        print(f"check_example: {os.path.basename(binary)}: scrape of {series} samples, gzip ({len(body)} bytes of "
              f"{len(text)}): median {statistics.median(times):.2f} ms, p90 {times[179]:.2f} ms (200 scrapes, "
              f"one connection each, debug build)")
    finally:
        process.terminate()
        process.wait(10)


def main():
    arguments = sys.argv[1:]
    traced = "--exemplars-from-trace" in arguments
    arguments = [a for a in arguments if a != "--exemplars-from-trace"]
    if len(arguments) < 4:
        fail(__doc__)
    binary, port, readme = arguments[0], int(arguments[1]), arguments[2]
    promised = [tuple(arg.split(":")) for arg in arguments[3:]]
    check_service(binary, port, readme, promised, traced)
    time_scrapes(binary, port)


if __name__ == "__main__":
    main()
