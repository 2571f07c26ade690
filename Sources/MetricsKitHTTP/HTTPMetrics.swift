import MetricsKit

/// The golden-signal metrics of an HTTP server, with bounded cardinality:
///
/// | metric | type | labels |
/// |---|---|---|
/// | `http_requests_total` | counter | `method`, `path`, `status` |
/// | `http_request_duration_seconds` | histogram | `method`, `path` |
/// | `http_requests_in_flight` | gauge | none |
///
/// `path` is the matched route, never the raw URL; requests to unknown paths share the value
/// ``unmatchedPath``. Methods outside the standard set share `OTHER`. So the number of series
/// is bounded by routes x methods x statuses, whatever clients send.
public final class HTTPMetrics: Sendable {
    /// The `path` label value of requests that matched no route.
    public static let unmatchedPath = "unmatched"
    /// The default latency buckets (seconds), as the tutorial app this replaces used.
    public static let defaultBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    let requests: MetricFamily<Counter>
    let duration: MetricFamily<Histogram>
    let inFlight: Gauge

    /// Registers the metrics in `registry`.
    public init(registry: MetricRegistry, buckets: [Double] = HTTPMetrics.defaultBuckets) throws {
        requests = try registry.counter(
            "http_requests_total", help: "Total number of HTTP requests by method, route and status code.",
            labelNames: ["method", "path", "status"])
        duration = try registry.histogram(
            "http_request_duration_seconds", help: "HTTP request latency in seconds by method and route.",
            labelNames: ["method", "path"], buckets: buckets)
        inFlight = try registry.gauge("http_requests_in_flight", help: "Number of HTTP requests being served.")
    }

    /// Records one answered request.
    func record(method: HTTPMethod, path: String, status: Int, seconds: Double) {
        let method = method.labelValue
        requests.labels(method, path, Self.statusText(status)).increment()
        duration.labels(method, path).observe(seconds)
    }

    private static let statusTexts: [String] = (0..<600).map(String.init)

    /// The status code as a label value, without formatting on the request path.
    static func statusText(_ status: Int) -> String {
        status >= 0 && status < statusTexts.count ? statusTexts[status] : String(status)
    }
}
