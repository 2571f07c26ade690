import MetricsKit
import Synchronization

extension Router {
    /// Serves `registry` at `path` (`GET` and `HEAD`), gzip-compressed when the request accepts
    /// it (as Prometheus does). The format follows the `Accept` header
    /// (`ExpositionFormat.negotiate(accept:)`): OpenMetrics 1.0 when the scraper
    /// prefers it, text 0.0.4 otherwise. Not counted in the HTTP metrics by default.
    ///
    /// Concurrent scrapes share one render: a scrape that arrives while another renders waits
    /// for that render and is answered with the same response object, so many scrapers cost one
    /// render per format and no copies (the body is at most one render's duration older than
    /// the request).
    public func addMetrics(_ registry: MetricRegistry, path: String = "/metrics", instrumented: Bool = false) {
        let endpoint = MetricsEndpoint(registry: registry)
        add(path, methods: [.get], instrumented: instrumented) { request, responder in
            endpoint.serve(
                ScrapeRequest(accept: request.header("Accept"), acceptEncoding: request.header("Accept-Encoding")),
                responder)
        }
    }
}

/// Answers scrapes through MetricsKit's ``ScrapeEndpoint`` (negotiation, gzip), coalescing
/// concurrent ones.
final class MetricsEndpoint: Sendable {
    let scrapes: ScrapeEndpoint
    private let waiting = Mutex<(rendering: Bool, responders: [(wanted: ScrapeRequest, responder: any HTTPResponder)])>(
        (false, []))

    init(registry: MetricRegistry) {
        self.scrapes = ScrapeEndpoint(registry: registry)
    }

    func serve(_ wanted: ScrapeRequest, _ responder: any HTTPResponder) {
        let leads = waiting.withLock { state -> Bool in
            if state.rendering {
                state.responders.append((wanted, responder))
                return false
            }
            state.rendering = true
            return true
        }
        guard leads else { return }  // answered when the render under way finishes

        var responses: [ScrapeRequest: HTTPResponse] = [:]
        func response(_ wanted: ScrapeRequest) -> HTTPResponse {
            if let ready = responses[wanted] { return ready }
            // libmicrohttpd answers HEAD itself (headers of the GET response, no body).
            let made = scrapes.scrape(wanted) { scrape in
                HTTPResponse(status: scrape.status, headers: scrape.headers, body: Array(scrape.body)).prepared()
            }
            responses[wanted] = made
            return made
        }
        let mine = response(wanted)
        let others = waiting.withLock { state in
            state.rendering = false
            defer { state.responders.removeAll() }
            return state.responders
        }
        responder.respond(mine)
        for other in others { other.responder.respond(response(other.wanted)) }
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
