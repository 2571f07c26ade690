/// The scrape endpoint's own metrics, as client_golang's promhttp exports them for its handler:
/// scrapes answered (by status, format and content encoding), scrapes in flight, and encoding
/// errors.
///
/// | MetricsKit | type | labels | promhttp's counterpart |
/// |---|---|---|---|
/// | `metricskit_scrape_requests_total` | counter | `code`, `format`, `encoding` | `promhttp_metric_handler_requests_total{code}` |
/// | `metricskit_scrape_requests_in_flight` | gauge | | `promhttp_metric_handler_requests_in_flight` |
/// | `metricskit_scrape_errors_total` | counter | `cause` | `promhttp_metric_handler_errors_total{cause}` |
///
/// The names are MetricsKit's own, like `metricskit_rejected_updates_total`, rather than
/// promhttp's: the label sets differ (promhttp counts by `code` only; `cause` here is only
/// `encoding`, MetricsKit has no gathering step that fails), and a dashboard or alert written for
/// promhttp's series should not silently read series with other labels under the same name. A
/// promhttp rule ports by renaming (`sum by (code)` works unchanged).
///
/// `format` is `text` (0.0.4), `openmetrics` or `protobuf` (`none` for a refused method);
/// `encoding` is `gzip` or `identity`. A scrape is counted when its response has been handed
/// over, so a body shows the scrapes before it, and itself in `…_in_flight`. The 200 series and
/// `cause="encoding"` exist from the start at 0.
///
/// ```swift
/// let endpoint = ScrapeEndpoint(registry: registry, metrics: try ScrapeMetrics(registry: registry))
/// ```
public final class ScrapeMetrics: Sendable {
    let requests: MetricFamily<Counter>
    let inFlight: Gauge
    let errors: MetricFamily<Counter>

    /// The metric names, in the order of the table above.
    public static let names = [
        "metricskit_scrape_requests_total", "metricskit_scrape_requests_in_flight", "metricskit_scrape_errors_total",
    ]

    /// Registers the three families in `registry` (registering them again for a second endpoint
    /// returns the same ones, so endpoints on one registry share them).
    public init(registry: MetricRegistry) throws(MetricsKitError) {
        requests = try registry.counter(
            Self.names[0], help: "Scrapes answered by the metrics endpoint, by HTTP status, format and content encoding.",
            labelNames: ["code", "format", "encoding"])
        inFlight = try registry.gauge(Self.names[1], help: "Scrapes the metrics endpoint is serving now.")
        errors = try registry.counter(
            Self.names[2], help: "Errors of the metrics endpoint by cause (encoding: gzip failed, sent uncompressed).",
            labelNames: ["cause"])
        for format in ExpositionFormat.allCases {
            for gzip in [false, true] { _ = requests.labels("200", format.labelValue, Self.encoding(gzip)) }
        }
        _ = errors.labels("encoding")
    }

    /// Marks a scrape started (in flight until ``finished(_:status:)``).
    public func started() {
        inFlight.increment()
    }

    /// Counts a scrape answered with `status` for `request` (nil: refused before negotiation,
    /// such as a `405`) and ends it in flight.
    public func finished(_ request: ScrapeRequest?, status: Int) {
        let format = request?.format.labelValue ?? "none"
        requests.labels(StatusText.of(status), format, Self.encoding(request?.gzip ?? false)).increment()
        inFlight.decrement()
    }

    /// Counts a body that could not be gzip-compressed (sent uncompressed instead).
    package func countEncodingError() {
        errors.labels("encoding").increment()
    }

    private static func encoding(_ gzip: Bool) -> String { gzip ? "gzip" : "identity" }
}

/// HTTP status codes as label values, made once (no formatting on a request path).
package enum StatusText {
    private static let texts: [String] = (0..<600).map(String.init)

    /// `status` as text.
    package static func of(_ status: Int) -> String {
        status >= 0 && status < texts.count ? texts[status] : String(status)
    }
}

extension ExpositionFormat {
    /// The `format` label value of ``ScrapeMetrics``.
    var labelValue: String {
        switch self {
        case .prometheusText: "text"
        case .openMetrics: "openmetrics"
        case .protobuf: "protobuf"
        }
    }
}
