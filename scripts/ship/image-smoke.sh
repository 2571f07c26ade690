#!/usr/bin/env bash
# image-smoke: proves the Dockerfile's runtime stage without Docker.
#
# 1. Reads the runtime packages from the Dockerfile (ARG RUNTIME_PACKAGES in the final stage).
# 2. debootstraps a minimal Debian bookworm root filesystem (variant minbase, what
#    debian:bookworm-slim is made from) once, cached under .build-rootfs/, from the Debian
#    mirror apt on this machine already uses.
# 3. In a fresh copy of it, installs exactly those packages with apt-get, as the Dockerfile
#    does, and creates user 1000:1000.
# 4. Copies in the release binary built with --static-swift-stdlib, checks that every shared
#    library it needs resolves inside the root filesystem (ldd there), runs it as uid 1000
#    (chroot --userspec), and checks /health and /metrics over loopback, then SIGTERM: exit 0.
#
# Usage: scripts/ship/image-smoke.sh [BINARY]
#   BINARY defaults to the static release build, made (or brought up to date) first:
#   swift build -c release --static-swift-stdlib --product metrics-app   (= make release)
# Environment: ROOTFS_CACHE (default .build-rootfs), DEBIAN_MIRROR (default: apt's own).
# Needs root (debootstrap, chroot, mount).
set -euo pipefail

cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE=${ROOTFS_CACHE:-$REPO/.build-rootfs}
SUITE=bookworm
BASE=$CACHE/$SUITE-minbase
WORK=$CACHE/smoke
SCRATCH=${STATIC_SCRATCH:-$REPO/.build}
APP_PID=
START=$(date +%s)

say() { printf '[image-smoke] %s\n' "$*"; }
fail() { printf 'FAIL  image-smoke: %s\n' "$*" >&2; exit 1; }

cleanup() {
    if [[ -n $APP_PID ]] && kill -0 "$APP_PID" 2>/dev/null; then
        kill -KILL "$APP_PID" 2>/dev/null || true
    fi
    if mountpoint -q "$WORK/proc" 2>/dev/null; then umount "$WORK/proc" || umount -l "$WORK/proc" || true; fi
    if mountpoint -q "$WORK/proc" 2>/dev/null; then
        printf '[image-smoke] %s/proc is still mounted: not removing %s\n' "$WORK" "$WORK" >&2
        return 0
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, chroot, mount): run it as root or with sudo"
for tool in debootstrap chroot curl mountpoint; do
    command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install debootstrap curl util-linux (make image-smoke installs them)"
done

# --- 1. the runtime packages, from the Dockerfile's final stage -----------------------------
PACKAGES=$(awk '
    /^FROM[ \t]/ { stage++; pkgs = "" }
    /^ARG[ \t]+RUNTIME_PACKAGES=/ {
        line = $0; sub(/^ARG[ \t]+RUNTIME_PACKAGES=/, "", line); gsub(/"/, "", line); pkgs = line
    }
    END { print pkgs }' Dockerfile)
[[ -n $PACKAGES ]] || fail "no ARG RUNTIME_PACKAGES=\"...\" in the Dockerfile's final stage"
# shellcheck disable=SC2016 # a literal ${RUNTIME_PACKAGES} in the Dockerfile
grep -q 'apt-get install[^$]*\${RUNTIME_PACKAGES}' Dockerfile \
    || fail "the Dockerfile does not install \${RUNTIME_PACKAGES} with apt-get"
say "runtime packages named in the Dockerfile: $PACKAGES"

# --- 2. the cached minimal root filesystem --------------------------------------------------
mirror() {
    if [[ -n ${DEBIAN_MIRROR:-} ]]; then echo "$DEBIAN_MIRROR"; return; fi
    # The URL apt uses for the main Debian archive of this suite (sources.list or deb822).
    apt-cache policy 2>/dev/null | awk -v s="$SUITE/main" '$3 == s && $2 ~ /^https?:/ { print $2; exit }'
}
if [[ ! -f $BASE/.complete ]]; then
    MIRROR=$(mirror)
    if [[ -z $MIRROR ]]; then
        apt-get update -qq >/dev/null 2>&1 || true
        MIRROR=$(mirror)
    fi
    [[ -n $MIRROR ]] || fail "found no Debian $SUITE mirror in apt's sources (set DEBIAN_MIRROR=URL)"
    say "debootstrap --variant=minbase $SUITE from $MIRROR into $BASE (cached for next time)"
    rm -rf "$BASE"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase "$SUITE" "$BASE" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    touch "$BASE/.complete"
else
    say "using the cached root filesystem $BASE"
fi

# --- 3. a fresh copy with exactly the Dockerfile's packages ---------------------------------
cleanup
cp -a "$BASE" "$WORK"
rm -f "$WORK/.complete"
mount -t proc proc "$WORK/proc"
cp /etc/resolv.conf "$WORK/etc/resolv.conf"
say "apt-get install --no-install-recommends $PACKAGES (inside the root filesystem)"
chroot "$WORK" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -qq && apt-get -o Dpkg::Use-Pty=0 install -y -qq --no-install-recommends $PACKAGES >/dev/null 2>&1" \
    || fail "apt-get install $PACKAGES failed inside the root filesystem"
chroot "$WORK" groupadd --gid 1000 app
chroot "$WORK" useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin app

# --- 4. the binary ---------------------------------------------------------------------------
BINARY=${1:-}
if [[ -z $BINARY ]]; then
    say "swift build -c release --static-swift-stdlib --product metrics-app --scratch-path ${SCRATCH#"$REPO"/}"
    swift build -c release --static-swift-stdlib --product metrics-app --scratch-path "$SCRATCH" \
        > "$CACHE/swift-build.log" 2>&1 || { tail -30 "$CACHE/swift-build.log" >&2; fail "swift build failed"; }
    BINARY=$(swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)/metrics-app
fi
[[ -x $BINARY ]] || fail "no executable $BINARY"
install -m 0755 "$BINARY" "$WORK/usr/local/bin/metrics-app"

missing=$(chroot "$WORK" ldd /usr/local/bin/metrics-app | grep 'not found' || true)
[[ -z $missing ]] || fail "shared libraries missing in the runtime image: $missing"
say "every shared library resolves inside the root filesystem:"
chroot "$WORK" ldd /usr/local/bin/metrics-app | awk '{ print "    " $1 }'
# The Deployment's preStop hook runs `sleep`: it must exist in the image.
chroot "$WORK" sh -c 'command -v sleep' >/dev/null || fail "no sleep in the runtime image (preStop hook)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
chroot --userspec=1000:1000 "$WORK" /usr/local/bin/metrics-app --host 127.0.0.1 --port "$PORT" \
    --delay-max 0 > "$CACHE/app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$APP_PID" 2>/dev/null || { cat "$CACHE/app.log" >&2; fail "metrics-app exited at start"; }
    sleep 0.1
done
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$APP_PID/status")
[[ $uid == 1000 ]] || fail "metrics-app runs as uid $uid, not 1000"
say "metrics-app runs inside the root filesystem as uid $uid on 127.0.0.1:$PORT"

health=$(curl -fsS "http://127.0.0.1:$PORT/health") || fail "/health did not answer"
[[ $health == OK* ]] || fail "/health answered '$health', not OK"
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" || fail "/ did not answer"
metrics=$(curl -fsS "http://127.0.0.1:$PORT/metrics") || fail "/metrics did not answer"
for want in 'http_requests_total{method="GET",path="/",status="200"} 1' \
            'metrics_app_build_info{version=' 'http_request_duration_seconds_bucket' 'process_resident_memory_bytes'; do
    grep -qF "$want" <<<"$metrics" || fail "/metrics lacks $want"
done
say "/health: $health; /metrics: $(grep -c '^[a-z]' <<<"$metrics") samples, request counted"

kill -TERM "$APP_PID"
code=0
wait "$APP_PID" || code=$?
APP_PID=
[[ $code -eq 0 ]] || fail "metrics-app exited $code on SIGTERM, not 0"
echo "PASS  image-smoke: runtime stage ($PACKAGES on bookworm minbase) runs metrics-app as 1000:1000; /health and /metrics answer; SIGTERM exits 0 ($(($(date +%s) - START)) s)"
