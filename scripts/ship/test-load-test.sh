#!/usr/bin/env bash
# Offline test of deploy/load-test-scaling.sh: its quantity parser (--self-test), and a whole
# run against a stand-in kubectl (no cluster here) that answers like a real one: the script
# must print the HPA status with quantities parsed (295m, 1500m, 2k), pass its options through
# (namespace, concurrency, duration), delete the load pod at the end, and also when
# interrupted with SIGINT (Ctrl-C).
set -euo pipefail

cd "$(dirname "$0")/../.."
SCRIPT=deploy/load-test-scaling.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then
        echo "PASS  load-test: $what"; passed=$((passed + 1))
    else
        echo "FAIL  load-test: $what"; failed=$((failed + 1))
    fi
}

quiet() { "$@" >/dev/null 2>&1; }
check "quantity parser self-test (295m, 5, 1500m, 2k, ...)" quiet bash "$SCRIPT" --self-test

cat > "$TMP/kubectl" <<'EOF'
#!/usr/bin/env bash
# Stand-in kubectl: records its arguments, answers like a cluster with the default route.
printf '%s\n' "$*" >> "$FAKE_LOG"
args="$*"
case $args in
    *" apply -f -"*) cat > "$FAKE_DIR/applied.yaml" ;;
    *"get --raw /apis/custom.metrics.k8s.io/"*)
        echo '{"kind":"MetricValueList","items":[{"describedObject":{"name":"a"},"value":"295m"},{"describedObject":{"name":"b"},"value":"1500m"},{"describedObject":{"name":"c"},"value":"2k"}]}' ;;
    *"get hpa"*"spec.metrics"*) printf 'Pods http_requests_per_second 5' ;;
    *"get hpa"*"status.desiredReplicas"*) printf '4 2 1500m' ;;
    *) ;;
esac
EOF
chmod +x "$TMP/kubectl"
export FAKE_LOG=$TMP/calls.log FAKE_DIR=$TMP

out=$(KUBECTL=$TMP/kubectl bash "$SCRIPT" -n test-ns -d 2 -i 1 -c 7 2>&1) || { echo "$out"; false; }
check "prints the HPA target with its quantity parsed" grep -q 'target 5 (5)' <<<"$out"
check "prints desired/current replicas and the HPA metric 1500m as 1.5" \
    grep -Eq '^0s +4 +2 +1500m \(1\.5\)' <<<"$out"
check "reads the custom metric per pod (295m + 1500m + 2k = 2001.795)" \
    grep -q '3 items, average 667.265, total 2001.795' <<<"$out"
# The loop reads SECONDS: a slow iteration (kubectl calls plus the 1 s sleep) can step from 1s
# to 3s, so ask for a sample at or past the duration, not for the exact second.
check "samples until the duration is over" grep -Eq '^([2-9]|[1-9][0-9]+)s ' <<<"$out"
check "starts the load pod with the concurrency asked for" grep -qF -- '-lt 7' "$TMP/applied.yaml"
check "the load pod passes the restricted Pod Security level (non-root, no capabilities)" \
    grep -q 'drop: \["ALL"\]' "$TMP/applied.yaml"
KV=${KUBERNETES_VALIDATE:-kubernetes-validate}
if command -v "$KV" >/dev/null; then
    check "the load pod manifest passes kubernetes-validate --strict" quiet "$KV" --strict "$TMP/applied.yaml"
else
    echo "FAIL  load-test: $KV not found (pip install kubernetes-validate; make deps-ship installs it)"
    failed=$((failed + 1))
fi
check "uses the namespace asked for" grep -q -- '-n test-ns delete pod metrics-app-load-' "$FAKE_LOG"
check "reads every pod's metric by default" grep -qF 'namespaces/test-ns/pods/*/http_requests_per_second' "$FAKE_LOG"

: > "$FAKE_LOG"
KUBECTL=$TMP/kubectl bash "$SCRIPT" -d 1 -i 1 --url http://kong.example/ \
    --metric services/metrics-app/kong_upstream_latency_ms_60s_average >/dev/null 2>&1
check "--url sets what the load pod requests" grep -qF 'wget -q -O /dev/null -T 10 "http://kong.example/"' "$TMP/applied.yaml"
check "--metric with a path reads an object's metric" \
    grep -qF 'namespaces/demo-ns/services/metrics-app/kong_upstream_latency_ms_60s_average' "$FAKE_LOG"

: > "$FAKE_LOG"
# Job control on, so the background run does not start with SIGINT ignored (as it would in a
# non-interactive shell) and gets it like a terminal's Ctrl-C; env resets SIGINT to its default
# too, for a test run that was itself started with SIGINT ignored (a background job of a
# non-interactive shell: bash cannot trap a signal ignored when it starts).
set -m
KUBECTL=$TMP/kubectl env --default-signal=INT bash "$SCRIPT" -n test-ns -d 60 -i 1 > "$TMP/interrupted.out" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q '^0s ' "$TMP/interrupted.out" 2>/dev/null && break; sleep 0.1; done
kill -INT "$pid"
code=0
wait "$pid" || code=$?
set +m
check "Ctrl-C ends it with status 130" test "$code" -eq 130
check "Ctrl-C deletes the load pod" grep -q 'delete pod metrics-app-load-' "$FAKE_LOG"

echo "load-test-scaling: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
