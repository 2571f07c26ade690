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
/// ``unmatchedPath``, and so do requests the HTTP layer refuses before routing (400 for
/// ambiguous framing or a control byte in the path, libmicrohttpd's own 400/413/414/431/505;
/// those libmicrohttpd answers itself have `method="OTHER"`, as it does not report their
/// method, and no latency observation). Methods outside the standard set share `OTHER`. So the number of series
/// is bounded by routes x methods x statuses, whatever clients send.
public final class HTTPMetrics: Sendable {
    /// The `path` label value of requests that matched no route.
    public static let unmatchedPath = "unmatched"
    /// The default latency buckets (seconds), as the tutorial app this replaces used.
    public static let defaultBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    let requests: MetricFamily<Counter>
    let duration: MetricFamily<Histogram>
    let inFlight: Gauge

    /// Registers the metrics in `registry`; with `native` options the latency histogram also
    /// keeps native buckets (exposed in protobuf to a Prometheus with native histograms on).
    public init(
        registry: MetricRegistry, buckets: [Double] = HTTPMetrics.defaultBuckets, native: NativeHistogramOptions? = nil
    ) throws {
        requests = try registry.counter(
            "http_requests_total", help: "Total number of HTTP requests by method, route and status code.",
            labelNames: ["method", "path", "status"])
        duration = try registry.histogram(
            "http_request_duration_seconds", help: "HTTP request latency in seconds by method and route.",
            labelNames: ["method", "path"], buckets: buckets, native: native)
        inFlight = try registry.gauge("http_requests_in_flight", help: "Number of HTTP requests being served.")
    }

    /// Records one answered request; with a trace id (from a W3C `traceparent` header), the
    /// latency observation and the count carry an exemplar `{trace_id, span_id}`.
    func record(method: HTTPMethod, path: String, status: Int, seconds: Double, traceID: String? = nil) {
        let method = method.labelValue
        let counter = requests.labels(method, path, Self.statusText(status))
        let histogram = duration.labels(method, path)
        guard let traceID else {
            counter.increment()
            histogram.observe(seconds)
            return
        }
        let exemplar = ["trace_id": traceID, "span_id": Self.newSpanID()]
        counter.increment(by: 1, exemplar: exemplar)
        histogram.observe(seconds, exemplar: exemplar)
    }

    /// Creates each instrumented route's success series at 0,
    /// `http_requests_total{method,path,status="200"}` for every method it answers but the
    /// implied `HEAD`. A replica nobody has asked yet then reports 0 req/s instead of nothing:
    /// the HPA gets a value for every pod (a pod without the series counts as missing, which
    /// blocks an idle HPA and slows scale-down), and `rate()` sees the first request.
    func prepare(_ routes: RouteTable) {
        for route in routes.routes.values where route.instrumented {
            for method in route.handlers.keys where method != .head {
                _ = requests.labels(method.labelValue, route.path, Self.statusText(200))
            }
        }
    }

    /// Counts a request the HTTP layer refused before any route saw it (libmicrohttpd's own
    /// 400, 413, 414, 431 and 505 answers): `http_requests_total{method="OTHER",path="unmatched"}`.
    func countRefused(status: Int) {
        requests.labels("OTHER", Self.unmatchedPath, Self.statusText(status)).increment()
    }

    /// The trace id of a W3C `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`), or nil.
    static func traceID(fromTraceparent header: String) -> String? {
        Traceparent(header)?.traceID
    }

    /// A new span id for the server side of a traced request: 16 hex digits.
    static func newSpanID() -> String {
        let id = UInt64.random(in: 1...UInt64.max)
        let hex = String(id, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The status code as a label value, without formatting on the request path.
    static func statusText(_ status: Int) -> String {
        StatusText.of(status)
    }
}
