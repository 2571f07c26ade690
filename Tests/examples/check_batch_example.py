#!/usr/bin/env python3
"""Runs the batch-job example (Examples/BatchJobExample) against a real Pushgateway (Debian's
prometheus-pushgateway, started here on a free loopback port without persistence) and checks
what arrived, in the gateway's API (/api/v1/metrics) and on its /metrics page (promtool's lint
on the pushed families, prometheus_client's text parser):

  1. a run that succeeds PUTs everything: 50 records, the record-size histogram, the build
     info, phase `succeeded`, the success timestamp;
  2. a run that fails POSTs only the failure families: phase `failed` and the failure
     timestamp arrive, while the last success's counts and timestamp stay (exit status 1);
  3. a real Prometheus (Debian's 2.42) scraping the gateway with `honor_labels: true`, as the
     Pushgateway's docs say to, stores the pushed series under the job's own labels;
  4. a gateway that is not there makes the job exit 2 with the connection error.

Usage: check_batch_example.py BINARY README   (run with the venv's python)
Exits non-zero with the reason on the first failed check."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from check_example import fail, parse, promtool_lint, sample

JOB = {"job": "nightly_import", "instance": "importer-1"}
# The families the example pushes, with the types the gateway's API reports; the README lists each.
PUSHED = {
    "import_records_total": "COUNTER", "import_record_bytes": "HISTOGRAM", "import_build_info": "GAUGE",
    "import_phase": "GAUGE", "import_last_success_timestamp_seconds": "GAUGE",
    "import_last_failure_timestamp_seconds": "GAUGE",
}


def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


def start_gateway():
    binary = shutil.which("prometheus-pushgateway")
    if binary is None:
        fail("prometheus-pushgateway not found: make deps-test installs it (apt-get install prometheus-pushgateway)")
    for _ in range(3):
        port = unused_port()
        # --persistence.file= : Debian's default file is /var/lib/prometheus/pushgateway.data.
        gateway = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=",
                                    "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 15
        while time.time() < deadline and gateway.poll() is None:
            try:
                get(port, "/-/ready")
                return gateway, port
            except OSError:
                time.sleep(0.1)
        gateway.kill()  # lost the port to another process: try another one
        gateway.wait()
    fail("the Pushgateway did not come up")


def run(binary, port, *flags):
    result = subprocess.run([binary, "--gateway", f"http://127.0.0.1:{port}", *flags], capture_output=True,
                            timeout=60)
    return result.returncode, (result.stdout + result.stderr).decode()


def group(port):
    """The example's group in the gateway's API: {family: (type, [(labels, value)])}."""
    for entry in json.loads(get(port, "/api/v1/metrics"))["data"]:
        if entry["labels"] == JOB:
            return {name: (family["type"], [(m["labels"], m.get("value", m.get("count"))) for m in family["metrics"]])
                    for name, family in entry.items() if isinstance(family, dict) and "metrics" in family}
    fail(f"no group {JOB} on the gateway")


def value(families, name, **labels):
    for series_labels, series_value in families.get(name, (None, []))[1]:
        if all(series_labels.get(k) == v for k, v in labels.items()):
            return float(series_value)
    fail(f"no {name}{labels} in the group: {sorted(families)}")


def pushed_text(port):
    """The gateway's /metrics without its own families, for promtool and the parser."""
    lines, keep = [], False
    for line in get(port, "/metrics").splitlines():
        if line.startswith("# HELP "):
            keep = line.split()[2] in PUSHED
        if keep:
            lines.append(line)
    return "\n".join(lines) + "\n"


def prometheus_sees(gateway_port):
    """Starts Prometheus scraping the gateway every second and returns the pushed series it
    stored for import_records_total (labels, value), once it has them."""
    binary = shutil.which("prometheus")
    if binary is None:
        fail("prometheus not found: make deps-test installs it (apt-get install prometheus)")
    with tempfile.TemporaryDirectory(prefix="metricskit-batch-") as directory:
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    "  - job_name: pushgateway\n    honor_labels: true\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{gateway_port}']\n")
        for _ in range(3):
            port = unused_port()
            prometheus = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={directory}/data",
                 f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.time() + 60
                while time.time() < deadline and prometheus.poll() is None:
                    try:
                        query = urllib.parse.quote("import_records_total")
                        result = json.loads(get(port, f"/api/v1/query?query={query}"))["data"]["result"]
                        if result:
                            return [(r["metric"], float(r["value"][1])) for r in result]
                    except OSError:
                        pass
                    time.sleep(0.5)
                if prometheus.poll() is None:
                    fail("Prometheus scraping the gateway had no import_records_total within 60 s")
            finally:
                prometheus.terminate()
                prometheus.wait(10)
        fail("Prometheus did not start (its port was taken three times)")


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    binary, readme = sys.argv[1], sys.argv[2]
    readme_text = open(readme).read()
    for name in PUSHED:
        if not re.search("`" + re.escape(name) + "[`{]", readme_text):
            fail(f"{name} is checked here but the README does not name it")
    gateway, port = start_gateway()
    try:
        status, output = run(binary, port, "--records", "50")
        if status != 0:
            fail(f"the successful run exited {status}: {output}")
        after_success = group(port)
        types = {name: kind for name, (kind, _) in after_success.items() if name in PUSHED}
        expected_types = {name: kind for name, kind in PUSHED.items() if name != "import_last_failure_timestamp_seconds"}
        expected_types["import_last_failure_timestamp_seconds"] = "GAUGE"  # registered, 0 until a failure
        if types != expected_types:
            fail(f"pushed families {types}, expected {expected_types}")
        if value(after_success, "import_records_total", outcome="imported") != 50:
            fail("import_records_total{outcome=imported} is not 50")
        if value(after_success, "import_record_bytes") != 50:
            fail("import_record_bytes has not 50 observations")
        if value(after_success, "import_build_info", version="1.0.0") != 1:
            fail("import_build_info{version=1.0.0} is not 1")
        if value(after_success, "import_phase", import_phase="succeeded") != 1 or \
                value(after_success, "import_phase", import_phase="running") != 0:
            fail("import_phase is not succeeded")
        success_time = value(after_success, "import_last_success_timestamp_seconds")
        if abs(success_time - time.time()) > 120:
            fail(f"import_last_success_timestamp_seconds is {success_time}, not about now")

        text = pushed_text(port)
        promtool_lint(text)
        families = parse("parse_text.py", text)
        if sample(families, "import_records_total", {"outcome": "imported", **JOB}) != 50:
            fail("/metrics: import_records_total is not 50")

        stored = prometheus_sees(port)
        expected = [({"__name__": "import_records_total", "outcome": "imported", **JOB}, 50.0)]
        if stored != expected:
            fail(f"Prometheus stored {stored}, expected {expected}")

        status, output = run(binary, port, "--records", "50", "--fail-at", "10")
        if status != 1:
            fail(f"the failing run exited {status}, not 1: {output}")
        after_failure = group(port)
        if value(after_failure, "import_phase", import_phase="failed") != 1 or \
                value(after_failure, "import_phase", import_phase="succeeded") != 0:
            fail("after the failure import_phase is not failed")
        if value(after_failure, "import_last_failure_timestamp_seconds") < success_time:
            fail("import_last_failure_timestamp_seconds did not arrive")
        # POST replaced only the failure families: the success's survive unchanged.
        if value(after_failure, "import_last_success_timestamp_seconds") != success_time or \
                value(after_failure, "import_records_total", outcome="imported") != 50:
            fail("the failure push replaced the last success's families")
        if value(after_failure, "push_time_seconds") < success_time:
            fail("the gateway did not record the second push")
    finally:
        gateway.terminate()
        gateway.wait(10)

    status, output = run(binary, unused_port())
    if status != 2 or "refused" not in output:
        fail(f"with no gateway the job exited {status} ({output.strip()}), expected 2 and a refused connection")
    print(f"check_batch_example: {os.path.basename(binary)}: PUT on success ({len(PUSHED)} families, "
          "promtool lint-clean, values read back from the API and /metrics, stored by Prometheus under "
          "the job's labels), POST on failure kept the success's families, no gateway -> exit 2")


if __name__ == "__main__":
    main()
