import MetricsKit
import Synchronization

extension Router {
    /// Serves `registry` at `path` (`GET` and `HEAD`), gzip-compressed when the request accepts
    /// it (as Prometheus does). The format follows the `Accept` header
    /// (`ExpositionFormat.negotiate(accept:)`): protobuf (with native histograms) when the
    /// scraper asks for it, OpenMetrics 1.0 when it prefers that, text 0.0.4 otherwise. Not
    /// counted in the HTTP metrics by default.
    ///
    /// Concurrent scrapes share one render: a scrape that arrives while another renders waits
    /// for that render and is answered with the same response object, so many scrapers cost one
    /// render per format and no copies (the body is at most one render's duration older than
    /// the request).
    ///
    /// `name[]` query parameters select families (``NameFilter``), as client_golang serves them;
    /// with `scrapeMetrics` every scrape is counted (``ScrapeMetrics``), coalesced ones too.
    public func addMetrics(
        _ registry: MetricRegistry, path: String = "/metrics", instrumented: Bool = false,
        scrapeMetrics: ScrapeMetrics? = nil
    ) {
        let endpoint = MetricsEndpoint(registry: registry, metrics: scrapeMetrics)
        add(path, methods: [.get], instrumented: instrumented) { request, responder in
            let names = request.queryParameters("name[]")
            endpoint.serve(
                ScrapeRequest(
                    accept: request.header("Accept"), acceptEncoding: request.header("Accept-Encoding"),
                    names: names.isEmpty ? nil : NameFilter(Set(names))),
                responder)
        }
    }
}

/// Answers scrapes through MetricsKit's ``ScrapeEndpoint`` (negotiation, gzip), coalescing
/// concurrent ones.
final class MetricsEndpoint: Sendable {
    let scrapes: ScrapeEndpoint
    /// Counted here, per request, rather than by `scrapes` (once per render).
    let metrics: ScrapeMetrics?
    private let waiting = Mutex<(rendering: Bool, responders: [(wanted: ScrapeRequest, responder: any HTTPResponder)])>(
        (false, []))

    init(registry: MetricRegistry, metrics: ScrapeMetrics? = nil) {
        self.scrapes = ScrapeEndpoint(registry: registry)
        self.metrics = metrics
    }

    func serve(_ wanted: ScrapeRequest, _ responder: any HTTPResponder) {
        metrics?.started()
        // A `name[]` scrape renders alone, on its own thread: clients choose the filters, so a
        // leading render must not take on an unbounded number of different bodies in turn.
        if wanted.names != nil {
            answer(responder, wanted, render(wanted))
            return
        }
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
            let made = render(wanted)
            responses[wanted] = made
            return made
        }
        let mine = response(wanted)
        let others = waiting.withLock { state in
            state.rendering = false
            defer { state.responders.removeAll() }
            return state.responders
        }
        answer(responder, wanted, mine)
        for other in others { answer(other.responder, other.wanted, response(other.wanted)) }
    }

    private func render(_ wanted: ScrapeRequest) -> HTTPResponse {
        // libmicrohttpd answers HEAD itself (headers of the GET response, no body).
        scrapes.scrape(wanted) { scrape in
            if scrape.compressionFailed { metrics?.countEncodingError() }
            return HTTPResponse(status: scrape.status, headers: scrape.headers, body: Array(scrape.body)).prepared()
        }
    }

    private func answer(_ responder: any HTTPResponder, _ wanted: ScrapeRequest, _ response: HTTPResponse) {
        responder.respond(response)
        metrics?.finished(wanted, status: response.status)
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
