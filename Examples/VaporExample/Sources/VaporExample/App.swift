// A Vapor 4 service whose metrics are MetricsKit's: Vapor's request metrics (its
// DefaultResponder reports them through swift-metrics) through the swift-metrics backend,
// names mapped to the Hummingbird example's, an own counter and histogram, the process
// collector, and GET/HEAD /metrics through ScrapeEndpoint.
//
//   swift run VaporExample [port [series]]
//
// 127.0.0.1, port 8080 by default; `series` adds that many gauge series (for timing scrapes).
import Metrics
import MetricsKit
import MetricsKitSwiftMetrics
import Vapor

@main
struct VaporExample {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
        let port = arguments.first ?? 8080

        let registry = MetricRegistry()
        try registry.register(ProcessCollector())
        var configuration = MetricsKitFactory.Configuration()
        configuration.mapping = HTTPNames.map
        MetricsSystem.bootstrap(MetricsKitFactory(registry: registry, configuration: configuration))

        let orders = try registry.counter("shop_orders_total", help: "Orders placed, by kind.", labelNames: ["kind"])
        let orderSize = try registry.histogram(
            "shop_order_items", help: "Items per order.", buckets: [1, 2, 5, 10, 20])
        if arguments.count > 1 {  // `make examples` times scrapes with this many more series
            let load = try registry.gauge("example_load", help: "Series for timing scrapes.", labelNames: ["series"])
            for series in 0..<arguments[1] { load.labels(String(series)).set(Double(series)) }
        }
        let scrapes = ScrapeEndpoint(registry: registry)

        // Vapor's own command line stays out of the way: always `serve`.
        let app = try await Application.make(Environment(name: "development", arguments: ["vapor"]))
        app.http.server.configuration.hostname = "127.0.0.1"
        app.http.server.configuration.port = port
        app.get("metrics") { request in metrics(scrapes, request) }
        app.post("orders", ":kind") { request -> HTTPStatus in
            let kind = request.parameters.get("kind") ?? "other"
            guard kind == "book" || kind == "game" else { return .badRequest }  // bounded label values
            let items = (try? request.query.get(Int.self, at: "items")) ?? 1
            orders.labels(kind).increment()
            orderSize.observe(Double(items))
            return .created
        }
        app.get("hello") { _ in "Hello\n" }
        do {
            try await app.execute()
        } catch {
            try await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }
}

/// GET /metrics (Vapor answers HEAD through the GET route and drops the body itself, keeping
/// its Content-Length): the format from `Accept`, gzip from `Accept-Encoding`, the body copied
/// once, into the response's ByteBuffer.
func metrics(_ scrapes: ScrapeEndpoint, _ request: Request) -> Response {
    scrapes.scrape(
        method: request.method == .HEAD ? "GET" : request.method.rawValue,
        accept: request.headers.first(name: .accept), acceptEncoding: request.headers.first(name: .acceptEncoding)
    ) { scrape in
        Response(
            status: HTTPResponseStatus(statusCode: scrape.status), headers: HTTPHeaders(scrape.headers),
            body: Response.Body(buffer: ByteBuffer(bytes: scrape.body)))
    }
}
