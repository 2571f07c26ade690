import MetricsKit
import Synchronization

extension Router {
    /// Serves `registry` at `path` (`GET` and `HEAD`) in text format 0.0.4, gzip-compressed when
    /// the request accepts it (as Prometheus does). Not counted in the HTTP metrics by default.
    ///
    /// Concurrent scrapes share one render: a scrape that arrives while another renders waits
    /// for that render and is answered with the same response object, so many scrapers cost one
    /// render and no copies (the body is at most one render's duration older than the request).
    public func addMetrics(_ registry: MetricRegistry, path: String = "/metrics", instrumented: Bool = false) {
        let endpoint = MetricsEndpoint(registry: registry)
        add(path, methods: [.get], instrumented: instrumented) { request, responder in
            endpoint.serve(gzip: Gzip.isAccepted(by: request.header("Accept-Encoding")), responder)
        }
    }
}

/// Renders a registry for scrapes, coalescing concurrent ones.
final class MetricsEndpoint: Sendable {
    let registry: MetricRegistry
    private let waiting = Mutex<(rendering: Bool, responders: [(gzip: Bool, responder: any HTTPResponder)])>(
        (false, []))

    init(registry: MetricRegistry) {
        self.registry = registry
    }

    func serve(gzip: Bool, _ responder: any HTTPResponder) {
        let leads = waiting.withLock { state -> Bool in
            if state.rendering {
                state.responders.append((gzip, responder))
                return false
            }
            state.rendering = true
            return true
        }
        guard leads else { return }  // answered when the render under way finishes

        var body: [UInt8] = []
        registry.render(into: &body)
        let plain = HTTPResponse(
            status: 200, headers: [("Content-Type", MetricRegistry.contentType), ("Vary", "Accept-Encoding")], body: body
        ).prepared()
        var compressed: HTTPResponse?
        func response(gzip: Bool) -> HTTPResponse {
            guard gzip else { return plain }
            if compressed == nil {
                compressed = Gzip.compress(body).map { gzipped in
                    HTTPResponse(
                        status: 200,
                        headers: [
                            ("Content-Type", MetricRegistry.contentType), ("Vary", "Accept-Encoding"),
                            ("Content-Encoding", "gzip"),
                        ], body: gzipped
                    ).prepared()
                } ?? plain
            }
            return compressed!
        }
        let others = waiting.withLock { state in
            state.rendering = false
            defer { state.responders.removeAll() }
            return state.responders
        }
        responder.respond(response(gzip: gzip))
        for other in others { other.responder.respond(response(gzip: other.gzip)) }
    }
}

extension HTTPServer {
    /// Serves `registry` at `/metrics` on `host:port`, started: the one call a service needs.
    ///
    /// ```swift
    /// let server = try HTTPServer.metrics(registry, port: 9100)
    /// ```
    public static func metrics(_ registry: MetricRegistry, host: String = "0.0.0.0", port: Int = 9100) throws
        -> HTTPServer
    {
        let router = Router()
        router.addMetrics(registry)
        var configuration = Configuration()
        configuration.host = host
        configuration.port = port
        configuration.threads = 1
        let server = HTTPServer(configuration: configuration, router: router)
        try server.start()
        return server
    }
}
