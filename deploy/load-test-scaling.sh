#!/usr/bin/env bash
# Load test for the autoscaling routes in deploy/: starts load inside the cluster against the
# metrics-app Service, prints the HPA's desired/current replicas and the metric it scales on
# every INTERVAL seconds for DURATION seconds, then deletes the load generator (also on Ctrl-C).
#
#   deploy/load-test-scaling.sh [-n NAMESPACE] [-d SECONDS] [-c CONCURRENCY] [-i SECONDS]
#                               [--hpa NAME] [--metric NAME|PATH] [--url URL] [--image IMAGE]
#   make load-test LOAD_TEST_ARGS="-d 600 -c 20"
#
# Every route's HPA is called metrics-app (KEDA's too, through horizontalPodAutoscalerConfig),
# so the same command watches any overlay. Quantities such as 295m, 1500m or 2k are parsed
# as Kubernetes does (295m = 0.295).
set -euo pipefail

NAMESPACE=${NAMESPACE:-demo-ns}
DURATION=${DURATION:-300}
CONCURRENCY=${CONCURRENCY:-10}
INTERVAL=${INTERVAL:-10}
HPA=${HPA:-metrics-app}
SERVICE=${SERVICE:-metrics-app}
SERVICE_PORT=${SERVICE_PORT:-8080}
METRIC=${METRIC:-http_requests_per_second}
URL=${URL:-}
LOAD_IMAGE=${LOAD_IMAGE:-busybox:1.36}
KUBECTL=${KUBECTL:-kubectl}
LOAD_POD=

usage() {
    cat <<EOF
Usage: $0 [options]
  -n, --namespace NS      namespace of metrics-app and its HPA (default: $NAMESPACE)
  -d, --duration SECONDS  how long to drive load (default: $DURATION)
  -c, --concurrency N     parallel request loops in the load pod (default: $CONCURRENCY;
                          one loop is about 3 requests/s with the app's default delay)
  -i, --interval SECONDS  how often to print the HPA status (default: $INTERVAL)
      --hpa NAME          HorizontalPodAutoscaler to watch (default: $HPA)
      --metric NAME       custom metric to read from custom.metrics.k8s.io, per pod
                          (default: $METRIC; not served on the KEDA and Datadog routes);
                          a path such as services/metrics-app/kong_upstream_latency_ms_60s_average
                          reads an object's metric instead
      --url URL           what the load pod requests (default:
                          http://$SERVICE.<namespace>.svc:$SERVICE_PORT/; the Kong route needs
                          the Gateway's address, so that Kong measures the traffic)
      --image IMAGE       load generator image with sh and wget (default: $LOAD_IMAGE)
      --self-test         check the quantity parser and exit
  -h, --help              this help
Environment variables of the same names (NAMESPACE, DURATION, CONCURRENCY, INTERVAL, HPA,
METRIC, URL, LOAD_IMAGE, KUBECTL) set the defaults.
EOF
}

# Kubernetes quantity -> plain decimal number: 295m -> 0.295, 5 -> 5, 1500m -> 1.5, 2k -> 2000,
# 1Ki -> 1024, 2e3 -> 2000. Fails (status 1) on anything else.
quantity() {
    awk -v q="$1" 'BEGIN {
        if (!match(q, /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?/)) exit 1
        number = substr(q, 1, RLENGTH); suffix = substr(q, RLENGTH + 1)
        split("n u m k M G T P E", si, " "); split("-9 -6 -3 3 6 9 12 15 18", exp10, " ")
        split("Ki Mi Gi Ti Pi Ei", bin, " ")
        factor = ""
        if (suffix == "") factor = 1
        for (i = 1; i <= 9; i++) if (suffix == si[i]) factor = 10 ^ exp10[i]
        for (i = 1; i <= 6; i++) if (suffix == bin[i]) factor = 1024 ^ i
        if (factor == "") exit 1
        value = number * factor
        out = sprintf("%.6f", value); sub(/0+$/, "", out); sub(/\.$/, "", out)
        if (out == "-0") out = "0"
        print out
    }'
}

self_test() {
    local failed=0 q want got
    while read -r q want; do
        got=$(quantity "$q" || echo "error")
        if [[ $got == "$want" ]]; then
            printf 'PASS  quantity %-6s = %s\n' "$q" "$got"
        else
            printf 'FAIL  quantity %-6s = %s, want %s\n' "$q" "$got" "$want"
            failed=$((failed + 1))
        fi
    done <<'EOF'
295m 0.295
5 5
1500m 1.5
2k 2000
0 0
250u 0.00025
1.5 1.5
1Ki 1024
2Mi 2097152
2e3 2000
3E 3000000000000000000
12x error
abc error
EOF
    return "$failed"
}

need_int() {
    [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "$0: $1 must be a positive integer, not '$2'" >&2; exit 2; }
}

while [[ $# -gt 0 ]]; do
    case $1 in
        -n|--namespace) NAMESPACE=${2:?}; shift 2 ;;
        -d|--duration) DURATION=${2:?}; shift 2 ;;
        -c|--concurrency) CONCURRENCY=${2:?}; shift 2 ;;
        -i|--interval) INTERVAL=${2:?}; shift 2 ;;
        --hpa) HPA=${2:?}; shift 2 ;;
        --metric) METRIC=${2:?}; shift 2 ;;
        --url) URL=${2:?}; shift 2 ;;
        --image) LOAD_IMAGE=${2:?}; shift 2 ;;
        --self-test) self_test; exit ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$0: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
need_int --duration "$DURATION"
need_int --concurrency "$CONCURRENCY"
need_int --interval "$INTERVAL"
command -v "$KUBECTL" >/dev/null || { echo "$0: $KUBECTL not found" >&2; exit 1; }

cleanup() {
    if [[ -n $LOAD_POD ]]; then
        echo "deleting the load generator pod $LOAD_POD"
        "$KUBECTL" -n "$NAMESPACE" delete pod "$LOAD_POD" --ignore-not-found --wait=false >/dev/null || true
        LOAD_POD=
    fi
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

"$KUBECTL" -n "$NAMESPACE" get hpa "$HPA" >/dev/null \
    || { echo "$0: no HorizontalPodAutoscaler $HPA in namespace $NAMESPACE (deploy a route first)" >&2; exit 1; }

# The HPA's first metric: its current value and its target, whatever the type
# (Pods, Object, External; AverageValue or Value). kubectl's jsonpath prints missing fields empty.
HPA_CURRENT='{.status.currentMetrics[0].pods.current.averageValue}{.status.currentMetrics[0].object.current.value}{.status.currentMetrics[0].object.current.averageValue}{.status.currentMetrics[0].external.current.averageValue}{.status.currentMetrics[0].external.current.value}'
HPA_TARGET='{.spec.metrics[0].type} {.spec.metrics[0].pods.metric.name}{.spec.metrics[0].object.metric.name}{.spec.metrics[0].external.metric.name} {.spec.metrics[0].pods.target.averageValue}{.spec.metrics[0].object.target.value}{.spec.metrics[0].object.target.averageValue}{.spec.metrics[0].external.target.averageValue}{.spec.metrics[0].external.target.value}'
read -r target_type target_metric target_value < <("$KUBECTL" -n "$NAMESPACE" get hpa "$HPA" -o jsonpath="$HPA_TARGET"; echo)
echo "HPA $NAMESPACE/$HPA scales on $target_type metric $target_metric, target ${target_value:-?} ($(quantity "${target_value:-0}" || echo '?'))"

LOAD_POD="metrics-app-load-$(date +%s)"
URL=${URL:-"http://$SERVICE.$NAMESPACE.svc:$SERVICE_PORT/"}
echo "starting $LOAD_POD: $CONCURRENCY request loops against $URL for ${DURATION}s"
# A pod the namespace's restricted Pod Security level admits.
"$KUBECTL" -n "$NAMESPACE" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $LOAD_POD
  labels:
    app: metrics-app-load
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  activeDeadlineSeconds: $((DURATION + 300))
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: load
      image: $LOAD_IMAGE
      command: ["sh", "-c"]
      args:
        - |
          i=0
          while [ "\$i" -lt $CONCURRENCY ]; do
            ( while true; do wget -q -O /dev/null -T 10 "$URL" || sleep 1; done ) &
            i=\$((i + 1))
          done
          wait
      resources:
        requests: {cpu: 100m, memory: 16Mi}
        limits: {cpu: "1", memory: 64Mi}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
EOF
"$KUBECTL" -n "$NAMESPACE" wait --for=condition=Ready "pod/$LOAD_POD" --timeout=120s >/dev/null

# The custom metrics API path: every pod's METRIC, or an object's (METRIC holds a slash).
if [[ $METRIC == */* ]]; then METRIC_PATH=$METRIC; else METRIC_PATH="pods/*/$METRIC"; fi

custom_metric() {
    # Values from the custom metrics API: "N items, average A, total T", or n/a.
    local raw values
    raw=$("$KUBECTL" get --raw "/apis/custom.metrics.k8s.io/v1beta1/namespaces/$NAMESPACE/$METRIC_PATH" 2>/dev/null) \
        || { echo "n/a"; return; }
    values=$(grep -o '"value":"[^"]*"' <<<"$raw" | cut -d'"' -f4 | while read -r q; do quantity "$q"; done)
    if [[ -z $values ]]; then echo "no items"; return; fi
    awk '{ n++; s += $1 } END { printf "%d items, average %.3f, total %.3f", n, s / n, s }' <<<"$values"
}

printf '%-6s %-8s %-8s %-22s %s\n' "time" "desired" "current" "HPA metric (current)" "${METRIC##*/} (custom metrics API)"
start=$SECONDS
while :; do
    elapsed=$((SECONDS - start))
    status=$("$KUBECTL" -n "$NAMESPACE" get hpa "$HPA" \
        -o jsonpath="{.status.desiredReplicas} {.status.currentReplicas} $HPA_CURRENT" 2>/dev/null || true)
    read -r desired current value <<<"$status"
    number=$(quantity "${value:-}" 2>/dev/null || echo "?")
    printf '%-6s %-8s %-8s %-22s %s\n' "${elapsed}s" "${desired:-?}" "${current:-?}" \
        "${value:-<unknown>} ($number)" "$(custom_metric)"
    if [[ $elapsed -ge $DURATION ]]; then break; fi
    sleep "$INTERVAL"
done
echo "done after ${DURATION}s; the HPA scales down after its 300 s stabilization window."
