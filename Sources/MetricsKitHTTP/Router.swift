import CMicroHTTPD

/// An HTTP method, with the standard ones named. Anything else is `.other` and, in metrics,
/// shares one label value so hostile clients cannot invent series.
public enum HTTPMethod: Hashable, Sendable {
    case get, head, post, put, delete, patch, options, connect, trace
    case other(String)

    /// Parses a request line's method (case-sensitive, as HTTP says).
    public init(_ raw: String) {
        switch raw {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "DELETE": self = .delete
        case "PATCH": self = .patch
        case "OPTIONS": self = .options
        case "CONNECT": self = .connect
        case "TRACE": self = .trace
        default: self = .other(raw)
        }
    }

    /// The method as written on the wire.
    public var rawValue: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .patch: "PATCH"
        case .options: "OPTIONS"
        case .connect: "CONNECT"
        case .trace: "TRACE"
        case .other(let raw): raw
        }
    }

    /// The `method` label value: the method itself for standard methods, `OTHER` otherwise.
    public var labelValue: String {
        if case .other = self { return "OTHER" }
        return rawValue
    }
}

/// A request as a handler sees it.
public struct HTTPRequest: @unchecked Sendable {
    /// The method.
    public let method: HTTPMethod
    /// The URL path, without the query string.
    public let path: String
    let connection: OpaquePointer

    /// The value of a request header (case-insensitive name), or nil.
    ///
    /// Valid only while the handler runs on the server's thread, not from a delayed response.
    public func header(_ name: String) -> String? {
        guard let value = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, name) else { return nil }
        return String(cString: value)
    }

    /// The value of a query parameter, or nil (same validity as ``header(_:)``).
    public func queryParameter(_ name: String) -> String? {
        guard let value = MHD_lookup_connection_value(connection, MHD_ValueKind.GET_ARGUMENT_KIND, name) else { return nil }
        return String(cString: value)
    }
}

/// A response: status, headers and body.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields, in order.
    public var headers: [(name: String, value: String)]
    /// The body (not sent for `HEAD`).
    public var body: [UInt8]
    /// A ready-made libmicrohttpd response for the same content, reused across requests.
    let preparedObject: PreparedResponse?

    /// Creates a response.
    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.preparedObject = nil
    }

    /// Makes this response reusable: the server builds it once and queues the same object for
    /// every request, which saves an allocation and a copy per request (probes, fixed pages).
    public func prepared() -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: body, prepared: PreparedResponse(self))
    }

    private init(status: Int, headers: [(name: String, value: String)], body: [UInt8], prepared: PreparedResponse) {
        self.status = status
        self.headers = headers
        self.body = body
        self.preparedObject = prepared
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }
}

/// Delivers the response to one request, now or later, from any thread.
///
/// A handler that answers at once calls ``respond(_:)`` before returning. A handler that
/// answers later (after a delay, or when a queue lets it) keeps the responder and calls it then;
/// meanwhile the connection is suspended and holds no server thread.
public protocol HTTPResponder: Sendable {
    /// Sends `response`. Only the first call counts.
    func respond(_ response: HTTPResponse)
}

/// A request handler: answers through the responder, now or later.
public typealias HTTPHandler = @Sendable (HTTPRequest, any HTTPResponder) -> Void

/// Maps exact paths to handlers. `HEAD` is served by a route's `GET` handler (without body).
public final class Router: @unchecked Sendable {
    /// One path's handlers.
    public struct Route: Sendable {
        /// The path, which is also its `path` label value.
        public let path: String
        /// Whether requests to it are counted in the HTTP metrics.
        public let instrumented: Bool
        let handlers: [HTTPMethod: HTTPHandler]
        /// `Allow` header value for 405 answers.
        let allow: String
    }

    private var routes: [String: Route] = [:]

    /// Creates an empty router.
    public init() {}

    /// Adds a route.
    /// - Parameters:
    ///   - path: the exact path, which is also the route's `path` label value.
    ///   - methods: the methods it answers (`GET` also answers `HEAD`); others get 405.
    ///   - instrumented: whether requests to it count in `http_requests_total` and friends
    ///     (probes and `/metrics` are usually left out, so an idle pod reports 0 req/s).
    ///   - handler: answers through the responder, now or later.
    public func add(
        _ path: String, methods: [HTTPMethod] = [.get], instrumented: Bool = true, handler: @escaping HTTPHandler
    ) {
        var handlers = routes[path]?.handlers ?? [:]
        for method in methods { handlers[method] = handler }
        if handlers[.get] != nil && handlers[.head] == nil { handlers[.head] = handlers[.get] }
        let allow = handlers.keys.map(\.rawValue).sorted().joined(separator: ", ")
        routes[path] = Route(path: path, instrumented: instrumented, handlers: handlers, allow: allow)
    }

    /// Adds a route whose handler answers at once.
    public func add(
        _ path: String, methods: [HTTPMethod] = [.get], instrumented: Bool = true,
        respond: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) {
        add(path, methods: methods, instrumented: instrumented) { request, responder in
            responder.respond(respond(request))
        }
    }

    func route(for path: String) -> Route? { routes[path] }
}

/// A libmicrohttpd response object built once and queued many times (MHD reference-counts it).
final class PreparedResponse: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ response: HTTPResponse) {
        pointer = MHDResponse.make(response, closeConnection: false)
    }

    deinit { MHD_destroy_response(pointer) }
}

/// Building libmicrohttpd responses.
enum MHDResponse {
    static func make(_ response: HTTPResponse, closeConnection: Bool) -> OpaquePointer {
        let pointer = response.body.withUnsafeBytes { body in
            MHD_create_response_from_buffer(
                body.count, UnsafeMutableRawPointer(mutating: body.baseAddress), MHD_ResponseMemoryMode.RESPMEM_MUST_COPY)!
        }
        for header in response.headers { MHD_add_response_header(pointer, header.name, header.value) }
        if closeConnection { MHD_add_response_header(pointer, "Connection", "close") }
        return pointer
    }
}
