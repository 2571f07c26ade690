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
/// other methods get `405` with `Allow: GET, HEAD`.
public final class ScrapeEndpoint: Sendable {
    /// The registry scrapes render.
    public let registry: MetricRegistry
    /// The zlib level of gzip bodies (1, the fastest, by default).
    public let gzipLevel: Int32

    /// Buffers kept for the next scrapes: one per scrape running at the same time, up to
    /// `keptBuffers`.
    private let idle = Mutex<[ScrapeBuffers]>([])
    private static let keptBuffers = 4

    /// Creates an endpoint that renders `registry`; `gzipLevel` is zlib's (1 to 9).
    public init(registry: MetricRegistry, gzipLevel: Int32 = 1) {
        self.registry = registry
        self.gzipLevel = min(max(gzipLevel, 1), 9)
    }

    /// Answers a scrape with `method` (`GET`, `HEAD`, or another, which gets `405`) and the
    /// request's `Accept` and `Accept-Encoding` headers (nil when absent): calls `respond` with
    /// the response and returns what it returns.
    public func scrape<Answer, Failure: Error>(
        method: String = "GET", accept: String?, acceptEncoding: String?,
        _ respond: (ScrapeResponse) throws(Failure) -> Answer
    ) throws(Failure) -> Answer {
        guard method == "GET" || method == "HEAD" else {
            return try respond(
                ScrapeResponse(
                    status: 405, headers: [("Allow", "GET, HEAD")], contentLength: 0, body: UnsafeRawBufferPointer(start: nil, count: 0)))
        }
        return try scrape(ScrapeRequest(accept: accept, acceptEncoding: acceptEncoding), head: method == "HEAD", respond)
    }

    /// Answers a scrape already negotiated (``ScrapeRequest``): `respond` gets status 200, the
    /// headers, and the body (empty when `head`, with ``ScrapeResponse/contentLength`` still the
    /// length a `GET` gets).
    public func scrape<Answer, Failure: Error>(
        _ request: ScrapeRequest, head: Bool = false, _ respond: (ScrapeResponse) throws(Failure) -> Answer
    ) throws(Failure) -> Answer {
        let buffers = idle.withLock { $0.popLast() } ?? ScrapeBuffers()
        defer {
            idle.withLock { kept in
                if kept.count < Self.keptBuffers { kept.append(buffers) }
            }
        }
        // Rendered straight into this scrape's own sink: no copy out of the registry's scratch
        // sink, and concurrent scrapes each have theirs.
        buffers.plain.removeAll()
        registry.render(request.format, into: &buffers.plain)
        let plain = UnsafeRawBufferPointer(buffers.plain.bytes)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", request.format.contentType), ("Vary", "Accept, Accept-Encoding"),
        ]
        var body = plain
        if request.gzip, buffers.gzip.compress(plain, level: gzipLevel) {
            headers.append(("Content-Encoding", "gzip"))
            body = buffers.gzip.bytes
        }
        return try respond(
            ScrapeResponse(
                status: 200, headers: headers, contentLength: body.count,
                body: head ? UnsafeRawBufferPointer(start: nil, count: 0) : body))
    }
}

/// What a scrape asks for: the format its `Accept` header negotiates, and whether its
/// `Accept-Encoding` takes gzip. Equal requests get equal bodies, so a server can answer
/// concurrent equal requests with one render.
public struct ScrapeRequest: Sendable, Hashable {
    /// The format of the body.
    public var format: ExpositionFormat
    /// Whether the body is gzip-compressed.
    public var gzip: Bool

    /// A request for `format`, gzip-compressed or not.
    public init(format: ExpositionFormat, gzip: Bool) {
        self.format = format
        self.gzip = gzip
    }

    /// Negotiates from the request's headers (nil when absent): the format by
    /// ``ExpositionFormat/negotiate(accept:)``, gzip when `acceptEncoding` lists `gzip` or `*`
    /// with a q-value above 0.
    public init(accept: String?, acceptEncoding: String?) {
        self.init(format: ExpositionFormat.negotiate(accept: accept), gzip: GzipBuffer.isAccepted(by: acceptEncoding))
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

    init(status: Int, headers: [(name: String, value: String)], contentLength: Int, body: UnsafeRawBufferPointer) {
        self.status = status
        self.headers = headers
        self.contentLength = contentLength
        self.body = body
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
