import MetricsKitSwiftMetrics

/// Vapor's request metrics mapped to the names the Hummingbird example exports, so one
/// dashboard serves both; every other swift-metrics metric keeps its default.
///
/// | swift-metrics label | default name | mapped |
/// |---|---|---|
/// | `http_requests_total` | `http_requests_total` | `http_server_requests_total` |
/// | `http_request_errors_total` | `http_request_errors_total` | `http_server_request_errors_total` |
/// | `http_request_duration_seconds` | `http_request_duration_seconds` | `http_server_request_duration_seconds` |
///
/// Labels `method` and `status` stay, `path` becomes `route`.
enum HTTPNames {
    static let names = [
        "http_requests_total": "http_server_requests",
        "http_request_errors_total": "http_server_request_errors",
        "http_request_duration_seconds": "http_server_request_duration",
    ]

    @Sendable static func map(_ label: String, _ dimensions: [(String, String)]) -> MappedMetric? {
        guard let name = names[label] else { return nil }
        return MappedMetric(name: name, labels: dimensions.map { ($0.0 == "path" ? "route" : $0.0, $0.1) })
    }
}
