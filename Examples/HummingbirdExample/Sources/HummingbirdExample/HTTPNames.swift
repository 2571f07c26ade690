import MetricsKitSwiftMetrics

/// Hummingbird's MetricsMiddleware names (OpenTelemetry-style labels, `hb.` counters) mapped
/// to the names a Prometheus user expects; every other swift-metrics metric keeps its default.
///
/// | swift-metrics label | default name | mapped |
/// |---|---|---|
/// | `hb.requests` | `hb_requests_total` | `http_server_requests_total` |
/// | `hb.request.errors` | `hb_request_errors_total` | `http_server_request_errors_total` |
/// | `http.server.request.duration` | `http_server_request_duration_seconds` | (same name) |
/// | `http.server.active_requests` | `http_server_active_requests` | (same name) |
///
/// Labels `http.request.method`, `http.route`, `http.response.status_code` become `method`,
/// `route`, `status` (`error.type` stays `error_type`).
enum HTTPNames {
    static let names = [
        "hb.requests": "http_server_requests",
        "hb.request.errors": "http_server_request_errors",
        "http.server.request.duration": "http_server_request_duration",
        "http.server.active_requests": "http_server_active_requests",
    ]
    static let labels = ["http.request.method": "method", "http.route": "route", "http.response.status_code": "status"]

    @Sendable static func map(_ label: String, _ dimensions: [(String, String)]) -> MappedMetric? {
        guard let name = names[label] else { return nil }
        return MappedMetric(name: name, labels: dimensions.map { (labels[$0.0] ?? $0.0, $0.1) })
    }
}
