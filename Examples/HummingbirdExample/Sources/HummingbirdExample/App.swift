// A Hummingbird 2 service whose metrics are MetricsKit's: Hummingbird's MetricsMiddleware
// through the swift-metrics backend (names mapped to Prometheus conventions), an own counter
// and histogram whose updates carry the current trace as exemplars (Hummingbird's
// TracingMiddleware starts a span per request, continuing the caller's `traceparent`;
// TraceparentTracer is the installed tracer), the process collector, and GET/HEAD /metrics
// through ScrapeEndpoint with its self-metrics and `name[]` filter.
//
//   swift run HummingbirdExample [port [series]]
//
// 127.0.0.1, port 8080 by default; `series` adds that many gauge series (for timing scrapes).
import HTTPTypes
import Hummingbird
import Metrics
import MetricsKit
import MetricsKitSwiftMetrics
import MetricsKitTracing
import Tracing

@main
struct HummingbirdExample {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
        let port = arguments.first ?? 8080

        let registry = MetricRegistry()
        try registry.register(ProcessCollector())
        var configuration = MetricsKitFactory.Configuration()
        configuration.mapping = HTTPNames.map
        MetricsSystem.bootstrap(MetricsKitFactory(registry: registry, configuration: configuration))
        // Any W3C tracer works (swift-otel in production); this one only propagates ids. Traces
        // it starts itself are unsampled, so exemplars point only at traces a caller sampled.
        InstrumentationSystem.bootstrap(TraceparentTracer(sampleNewTraces: false))

        // Updates inside a request's span carry {trace_id, span_id}, at most once per 100 ms per
        // series; the call sites below are the plain increment() and observe().
        let orders = try registry.counter("shop_orders_total", help: "Orders placed, by kind.", labelNames: ["kind"])
            .exemplarsFromTrace()
        let orderSize = try registry.histogram(
            "shop_order_items", help: "Items per order.", buckets: [1, 2, 5, 10, 20]
        ).exemplarsFromTrace()
        if arguments.count > 1 {  // `make examples` times scrapes with this many more series
            let load = try registry.gauge("example_load", help: "Series for timing scrapes.", labelNames: ["series"])
            for series in 0..<arguments[1] { load.labels(String(series)).set(Double(series)) }
        }
        let scrapes = ScrapeEndpoint(registry: registry, metrics: try ScrapeMetrics(registry: registry))

        let router = Router()
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: TracingMiddleware())
        router.get("/metrics") { request, _ in metrics(scrapes, request) }
        router.head("/metrics") { request, _ in metrics(scrapes, request) }
        router.post("/orders/:kind") { request, context -> HTTPResponse.Status in
            let kind = context.parameters.get("kind") ?? "other"
            guard kind == "book" || kind == "game" else { return .badRequest }  // bounded label values
            let items = request.uri.queryParameters.get("items").flatMap { Int($0) } ?? 1
            orders.labels(kind).increment()
            orderSize.observe(Double(items))
            return .created
        }
        router.get("/hello") { _, _ in "Hello\n" }

        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}

/// GET and HEAD /metrics: the format from `Accept`, gzip from `Accept-Encoding`, families from
/// `name[]`, the body copied once, into the response's ByteBuffer.
func metrics(_ scrapes: ScrapeEndpoint, _ request: Request) -> Response {
    scrapes.scrape(
        method: request.method.rawValue, accept: request.headers[.accept], acceptEncoding: request.headers[.acceptEncoding],
        query: request.uri.query
    ) { scrape in
        var headers = HTTPFields()
        for (name, value) in scrape.headers { headers[HTTPField.Name(name)!] = value }
        let body =
            request.method == .head
            ? ResponseBody(contentLength: scrape.contentLength) { _ in }
            : ResponseBody(byteBuffer: ByteBuffer(bytes: scrape.body))
        return Response(status: .init(code: scrape.status), headers: headers, body: body)
    }
}
