import MetricsKit

extension Router {
    /// Serves `registry` at `path` (`GET` and `HEAD`) in text format 0.0.4, gzip-compressed when
    /// the request accepts it (as Prometheus does). Not counted in the HTTP metrics by default.
    public func addMetrics(_ registry: MetricRegistry, path: String = "/metrics", instrumented: Bool = false) {
        add(path, methods: [.get], instrumented: instrumented) { request in
            var body: [UInt8] = []
            registry.render(into: &body)
            var headers: [(name: String, value: String)] = [
                ("Content-Type", MetricRegistry.contentType), ("Vary", "Accept-Encoding"),
            ]
            if Gzip.isAccepted(by: request.header("Accept-Encoding")), let compressed = Gzip.compress(body) {
                headers.append(("Content-Encoding", "gzip"))
                body = compressed
            }
            return HTTPResponse(status: 200, headers: headers, body: body)
        }
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
