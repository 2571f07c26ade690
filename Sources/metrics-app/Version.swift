// Generated from ../../VERSION by `make version-set VERSION=x.y.z`; do not edit by hand.
// `make test-ship` (scripts/version.sh check) and the metrics-app tests fail when it disagrees.

/// The version of metrics-app, as in the VERSION file: `--version`, `metrics_app_build_info`.
enum AppVersion {
    static let text = "0.1.0"
}
