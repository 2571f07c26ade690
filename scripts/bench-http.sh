#!/usr/bin/env bash
# Load benchmark of metrics-app against nginx (a fixed 200 on another loopback port) as the
# ceiling, with the same wrk settings in the same run. Prints one table.
#
#   scripts/bench-http.sh            (make bench-http builds the release binary first)
#   DURATION=10s THREADS=2 CONNECTIONS=64 scripts/bench-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-10s}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
binary=${METRICS_APP:-.build/release/metrics-app}

for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y wrk nginx-light (or make bench-http)" >&2; exit 1; }
done
[ -x "$binary" ] || { echo "$binary is missing: swift build -c release --product metrics-app" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"  # nginx workers (user nobody) read the static body from here
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() { # url
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing answers at $1" >&2; exit 1
}

app_pid=
start_app() { # port, extra args...; sets app_pid
  local port=$1; shift
  "$binary" --host 127.0.0.1 --port "$port" --log-level warning "$@" >>"$work/app.log" 2>&1 &
  app_pid=$!
  pids+=("$app_pid")
  wait_for "http://127.0.0.1:$port/healthz"
}

# nginx: the ceiling, answering a fixed 200 from memory.
nginx_port=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type text/plain; return 200 "OK\n"; }
    location = /metrics { default_type text/plain; alias $work/metrics.txt; }
  }
}
CONF
nginx -c "$work/nginx.conf" -g 'daemon off;' >>"$work/nginx.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$nginx_port/"

# One wrk run; prints "requests_per_second p99_ms".
run_wrk() { # connections url
  wrk -t"$threads" -c"$1" -d"$duration" --latency "$2" >"$work/wrk.txt"
  python3 - "$work/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
socket_errors = re.search(r"Socket errors: (.*)", text)
print(f"{rps:.0f} {ms(*p99.groups()) if p99 else float('nan'):.2f} {errors.group(1) if errors else 0} {'yes' if socket_errors else 'no'}")
PY
}

fast_port=$(free_port)
start_app "$fast_port" --delay-max 0
fast_pid=$app_pid
sleep 1
idle_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$fast_pid/status")
idle_anon_kb=$(awk '/RssAnon/ {print $2}' "/proc/$fast_pid/status")

read -r nginx_rps _ _ _ < <(run_wrk "$connections" "http://127.0.0.1:$nginx_port/")
read -r health_rps _ health_err _ < <(run_wrk "$connections" "http://127.0.0.1:$fast_port/health")
read -r root_rps _ root_err _ < <(run_wrk "$connections" "http://127.0.0.1:$fast_port/")

delay_port=$(free_port)
start_app "$delay_port"
read -r delayed_rps _ delayed_err _ < <(run_wrk 256 "http://127.0.0.1:$delay_port/")

series_port=$(free_port)
start_app "$series_port" --synthetic-series 10000 --delay-max 0
curl -fsS -o "$work/metrics.txt" "http://127.0.0.1:$series_port/metrics"
chmod 644 "$work/metrics.txt"
curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/metrics" || { echo "nginx does not serve the static body" >&2; exit 1; }
series=$(grep -vc '^#' "$work/metrics.txt")
read -r metrics_rps metrics_p99 metrics_err _ < <(run_wrk "$connections" "http://127.0.0.1:$series_port/metrics")
# The same body as a static file from nginx: what the machine can move at this concurrency.
read -r static_rps static_p99 _ _ < <(run_wrk "$connections" "http://127.0.0.1:$nginx_port/metrics")
# As Prometheus scrapes: one connection per server (two for an HA pair).
read -r metrics2_rps metrics2_p99 _ _ < <(run_wrk 2 "http://127.0.0.1:$series_port/metrics")

python3 - "$nginx_rps" "$health_rps" "$root_rps" "$delayed_rps" "$metrics_p99" "$idle_rss_kb" "$series" \
  "$health_err" "$root_err" "$delayed_err" "$metrics_err" "$duration" "$threads" "$connections" "$metrics_rps" \
  "$static_rps" "$static_p99" "$metrics2_rps" "$metrics2_p99" "$idle_anon_kb" "$(wc -c <"$work/metrics.txt")" <<'PY'
import sys
(nginx, health, root, delayed, metrics_p99, rss_kb, series,
 health_err, root_err, delayed_err, metrics_err, duration, threads, connections, metrics_rps,
 static_rps, static_p99, metrics2_rps, metrics2_p99, anon_kb, body_bytes) = sys.argv[1:]
nginx, health, root, delayed = map(float, (nginx, health, root, delayed))
metrics_p99, rss_mb = float(metrics_p99), int(rss_kb) / 1024
ideal = 256 / 0.2995  # 256 connections over a uniform 100-499 ms delay (mean 299.5 ms)
rows = [
    ("GET / on nginx (ceiling)", f"{nginx:,.0f} req/s", "", "", ""),
    ("GET /health", f"{health:,.0f} req/s", f"{health / nginx:.0%} of nginx", ">= 90% of nginx", "yes" if health >= 0.9 * nginx else "NO"),
    ("GET / --delay-max 0", f"{root:,.0f} req/s", f"{root / nginx:.0%} of nginx", ">= 85% of nginx", "yes" if root >= 0.85 * nginx else "NO"),
    ("GET / default delay, -c256", f"{delayed:,.0f} req/s", f"{delayed / ideal:.0%} of 256/mean delay ({ideal:,.0f})", ">= 90%", "yes" if delayed >= 0.9 * ideal else "NO"),
    (f"GET /metrics, {int(series):,} samples ({int(body_bytes) // 1024} KiB), -c{connections}", f"p99 {metrics_p99:.2f} ms", f"{float(metrics_rps):,.0f} scrapes/s; nginx, same body as a file: p99 {float(static_p99):.2f} ms, {float(static_rps):,.0f}/s", "p99 <= 10 ms", "yes" if metrics_p99 <= 10 else "NO"),
    (f"GET /metrics, {int(series):,} samples, -c2 (as Prometheus scrapes)", f"p99 {float(metrics2_p99):.2f} ms", f"{float(metrics2_rps):,.0f} scrapes/s", "p99 <= 10 ms", "yes" if float(metrics2_p99) <= 10 else "NO"),
    ("idle RSS", f"{rss_mb:.1f} MB", f"anonymous {int(anon_kb) / 1024:.1f} MB; the rest is mapped code", "<= 10 MB", "yes" if rss_mb <= 10 else "NO"),
]
print(f"wrk -t{threads} -c{connections} -d{duration} (the delayed row: -c256); non-2xx: health {health_err}, root {root_err}, delayed {delayed_err}, metrics {metrics_err}")
widths = [max(len(r[i]) for r in rows + [("workload", "metrics-app", "ratio", "target", "met")]) for i in range(5)]
header = ("workload", "metrics-app", "ratio", "target", "met")
print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for row in rows:
    print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
PY
