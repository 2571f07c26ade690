import Synchronization

/// A `/metrics` endpoint for any HTTP framework: give it the request's method, `Accept` and
/// `Accept-Encoding` headers, and it answers the status, headers and body to send.
///
/// The body is rendered into memory the endpoint keeps for the next scrape, and handed to
/// `respond` as a buffer: copy it once into the framework's own buffer (a NIO `ByteBuffer`)
/// and nothing else is copied or allocated per series. Each concurrent scrape takes its own
/// buffers, so any number of threads may scrape at once.
///
/// ```swift
/// let endpoint = ScrapeEndpoint(registry: registry)
/// let buffer = endpoint.scrape(method: "GET", accept: accept, acceptEncoding: acceptEncoding) { response in
///     ByteBuffer(bytes: response.body)  // response.status, response.headers for the rest
/// }
/// ```
///
/// Negotiation is ``ExpositionFormat/negotiate(accept:)``'s (protobuf, with native
/// histograms, when the scraper asks for it; OpenMetrics 1.0 when the scraper prefers it, also
/// for an `application/openmetrics-text; version=0.0.1` request; text 0.0.4 otherwise), and
/// the Content-Type is the chosen format's
/// ``ExpositionFormat/contentType``. The body is gzip-compressed when `Accept-Encoding`
/// accepts gzip (Prometheus sends `gzip`). `HEAD` gets the headers of `GET` and no body;
/// other methods get `405` with `Allow: GET, HEAD`. A query with `name[]` parameters
/// (``NameFilter``) renders only the families it names.
///
/// With ``ScrapeMetrics`` the endpoint counts its scrapes, in-flight scrapes and encoding
/// errors in the registry, as promhttp does for Go services.
public final class ScrapeEndpoint: Sendable {
    /// The registry scrapes render.
    public let registry: MetricRegistry
    /// The zlib level of gzip bodies (1, the fastest, by default).
    public let gzipLevel: Int32
    /// The endpoint's own metrics, when it counts its scrapes.
    public let metrics: ScrapeMetrics?

    /// Buffers kept for the next scrapes: one per scrape running at the same time, up to
    /// `keptBuffers`.
    private let idle = Mutex<[ScrapeBuffers]>([])
    private static let keptBuffers = 4

    /// Creates an endpoint that renders `registry`; `gzipLevel` is zlib's (1 to 9); with
    /// `metrics`, each scrape is counted there.
    public init(registry: MetricRegistry, gzipLevel: Int32 = 1, metrics: ScrapeMetrics? = nil) {
        self.registry = registry
        self.gzipLevel = min(max(gzipLevel, 1), 9)
        self.metrics = metrics
    }

    /// Answers a scrape with `method` (`GET`, `HEAD`, or another, which gets `405`), the
    /// request's `Accept` and `Accept-Encoding` headers and URL query string (nil when absent;
    /// its `name[]` parameters select families): calls `respond` with the response and returns
    /// what it returns.
    public func scrape<Answer, Failure: Error>(
        method: String = "GET", accept: String?, acceptEncoding: String?, query: String? = nil,
        _ respond: (ScrapeResponse) throws(Failure) -> Answer
    ) throws(Failure) -> Answer {
        guard method == "GET" || method == "HEAD" else {
            metrics?.started()
            defer { metrics?.finished(nil, status: 405) }
            return try respond(
                ScrapeResponse(
                    status: 405, headers: [("Allow", "GET, HEAD")], contentLength: 0, body: UnsafeRawBufferPointer(start: nil, count: 0)))
        }
        let request = ScrapeRequest(accept: accept, acceptEncoding: acceptEncoding, names: NameFilter(query: query))
        return try scrape(request, head: method == "HEAD", respond)
    }

    /// Answers a scrape already negotiated (``ScrapeRequest``): `respond` gets status 200, the
    /// headers, and the body (empty when `head`, with ``ScrapeResponse/contentLength`` still the
    /// length a `GET` gets).
    public func scrape<Answer, Failure: Error>(
        _ request: ScrapeRequest, head: Bool = false, _ respond: (ScrapeResponse) throws(Failure) -> Answer
    ) throws(Failure) -> Answer {
        metrics?.started()
        defer { metrics?.finished(request, status: 200) }
        let buffers = idle.withLock { $0.popLast() } ?? ScrapeBuffers()
        defer {
            idle.withLock { kept in
                if kept.count < Self.keptBuffers { kept.append(buffers) }
            }
        }
        // Rendered straight into this scrape's own sink: no copy out of the registry's scratch
        // sink, and concurrent scrapes each have theirs.
        buffers.plain.removeAll()
        registry.render(request.format, only: request.names, into: &buffers.plain)
        let plain = UnsafeRawBufferPointer(buffers.plain.bytes)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", request.format.contentType), ("Vary", "Accept, Accept-Encoding"),
        ]
        var body = plain
        var compressionFailed = false
        if request.gzip {
            if buffers.gzip.compress(plain, level: gzipLevel) {
                headers.append(("Content-Encoding", "gzip"))
                body = buffers.gzip.bytes
            } else {
                compressionFailed = true  // sent uncompressed
                metrics?.countEncodingError()
            }
        }
        return try respond(
            ScrapeResponse(
                status: 200, headers: headers, contentLength: body.count,
                body: head ? UnsafeRawBufferPointer(start: nil, count: 0) : body, compressionFailed: compressionFailed))
    }
}

/// What a scrape asks for: the format its `Accept` header negotiates, whether its
/// `Accept-Encoding` takes gzip, and the families its `name[]` parameters select. Equal
/// requests get equal bodies, so a server can answer concurrent equal requests with one render.
public struct ScrapeRequest: Sendable, Hashable {
    /// The format of the body.
    public var format: ExpositionFormat
    /// Whether the body is gzip-compressed.
    public var gzip: Bool
    /// The families asked for (`name[]`), or nil for all.
    public var names: NameFilter?

    /// A request for `format`, gzip-compressed or not, of the families `names` selects (all
    /// when nil).
    public init(format: ExpositionFormat, gzip: Bool, names: NameFilter? = nil) {
        self.format = format
        self.gzip = gzip
        self.names = names
    }

    /// Negotiates from the request's headers (nil when absent): the format by
    /// ``ExpositionFormat/negotiate(accept:)``, gzip when `acceptEncoding` lists `gzip` or `*`
    /// with a q-value above 0.
    public init(accept: String?, acceptEncoding: String?, names: NameFilter? = nil) {
        self.init(
            format: ExpositionFormat.negotiate(accept: accept), gzip: GzipBuffer.isAccepted(by: acceptEncoding),
            names: names)
    }
}

/// The answer to one scrape, valid only while the `respond` closure that receives it runs.
public struct ScrapeResponse {
    /// 200, or 405 for a method other than `GET` and `HEAD`.
    public let status: Int
    /// `Content-Type`, `Vary: Accept, Accept-Encoding` and, when compressed,
    /// `Content-Encoding: gzip` (a 405 has `Allow` only). The framework adds `Content-Length`.
    public let headers: [(name: String, value: String)]
    /// The length of the body a `GET` gets: a `HEAD` response's `Content-Length`.
    public let contentLength: Int
    /// The body (empty for `HEAD`): memory the endpoint reuses after `respond` returns, so copy
    /// it (into the framework's buffer) rather than keep it.
    public let body: UnsafeRawBufferPointer
    /// Whether gzip was asked for and failed, so the body went out uncompressed (counted as
    /// `metricskit_scrape_errors_total{cause="encoding"}`).
    package let compressionFailed: Bool

    init(
        status: Int, headers: [(name: String, value: String)], contentLength: Int, body: UnsafeRawBufferPointer,
        compressionFailed: Bool = false
    ) {
        self.status = status
        self.headers = headers
        self.contentLength = contentLength
        self.body = body
        self.compressionFailed = compressionFailed
    }
}

/// The memory one scrape renders and compresses into, kept for the next.
// @unchecked: a scrape takes one out of the endpoint's idle list (under its lock) and is the
// only user until it puts it back.
private final class ScrapeBuffers: @unchecked Sendable {
    var plain = ByteSink(capacity: 4096)
    var gzip = GzipBuffer()

    deinit { plain.release() }
}
