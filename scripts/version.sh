#!/usr/bin/env bash
# The version of metrics-app is written once, in ./VERSION. What cannot read that file at run
# time gets it from here:
#   scripts/version.sh set X.Y.Z   writes VERSION, regenerates Sources/metrics-app/Version.swift
#                                  and sets deploy/base/kustomization.yaml's image tag
#   scripts/version.sh check       fails when any of them disagrees with VERSION, or when a doc or
#                                  shipping file spells the version out instead of referring to it
# The Makefile's TAG reads VERSION itself. `make version-set VERSION=X.Y.Z` runs `set`.
set -euo pipefail
cd "$(dirname "$0")/.."

swift_file=Sources/metrics-app/Version.swift
kustomization=deploy/base/kustomization.yaml
semver='^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'

swift_source() {
    cat <<SWIFT
// Generated from ../../VERSION by \`make version-set VERSION=x.y.z\`; do not edit by hand.
// \`make test-ship\` (scripts/version.sh check) and the metrics-app tests fail when it disagrees.

/// The version of metrics-app, as in the VERSION file: \`--version\`, \`metrics_app_build_info\`.
enum AppVersion {
    static let text = "$1"
}
SWIFT
}

case "${1:-}" in
set)
    version=${2:-}
    if ! [[ $version =~ $semver ]]; then
        echo "FAIL  give a semantic version: make version-set VERSION=x.y.z (got '$version')"
        exit 1
    fi
    printf '%s\n' "$version" > VERSION
    swift_source "$version" > "$swift_file"
    sed -i -E "s/^(    newTag: ).*/\\1\"$version\"/; s/TAG=[^)]*\\)/TAG=$version)/" "$kustomization"
    echo "version $version: VERSION, $swift_file, $kustomization (the Makefile's TAG reads VERSION)"
    ;;
check)
    version=$(<VERSION)
    failed=0
    pass() { echo "PASS  $1"; }
    fail() { echo "FAIL  $1"; failed=1; }
    if [[ $version =~ $semver ]]; then pass "VERSION is a semantic version ($version)"; else fail "VERSION '$version' is not x.y.z"; fi
    if [[ "$(swift_source "$version")" == "$(<"$swift_file")" ]]; then
        pass "$swift_file says $version"
    else
        fail "$swift_file disagrees with VERSION $version: run make version-set VERSION=$version"
    fi
    if grep -qxF "    newTag: \"$version\"" "$kustomization"; then
        pass "$kustomization image tag is $version"
    else
        fail "$kustomization image tag is not $version: run make version-set VERSION=$version"
    fi
    # Docs and shipping files refer to VERSION (or $(TAG)) instead of copying the number.
    copies=$(grep -rnwF --exclude-dir=.build --exclude=kustomization.yaml -e "$version" \
        README.md Dockerfile Makefile mk deploy scripts Sources/MetricsKit/MetricsKit.docc || true)
    if [[ -z $copies ]]; then
        pass "no doc or shipping file spells out $version"
    else
        fail "these spell out $version instead of referring to VERSION:"$'\n'"$copies"
    fi
    if [[ $failed != 0 ]]; then
        echo "ship-version: failed"
        exit 1
    fi
    echo "ship-version: passed"
    ;;
*)
    echo "usage: scripts/version.sh set X.Y.Z | check" >&2
    exit 2
    ;;
esac
