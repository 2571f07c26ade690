import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Maps exact paths to handlers. `HEAD` is served by a route's `GET` handler (without body).
///
/// Add every route before starting a server with the router: ``HTTPServer/start()`` freezes it,
/// so the server threads read a table that no longer changes, without locks. An ``add(_:methods:instrumented:handler:)``
/// after that is refused with a message on standard error (see ``isFrozen``).
public final class Router: Sendable {
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

    /// The routes added so far, and whether a server froze them.
    private let state = Mutex<(routes: [String: Route], frozen: Bool)>(([:], false))

    /// Creates an empty router.
    public init() {}

    /// Adds a route; refused (with a message on standard error) once a server started with this
    /// router.
    /// - Parameters:
    ///   - path: the exact path, which is also the route's `path` label value.
    ///   - methods: the methods it answers (`GET` also answers `HEAD`); others get 405.
    ///   - instrumented: whether requests to it count in `http_requests_total` and friends
    ///     (probes and `/metrics` are usually left out, so an idle pod reports 0 req/s).
    ///   - handler: answers through the responder, now or later.
    public func add(
        _ path: String, methods: [HTTPMethod] = [.get], instrumented: Bool = true, handler: @escaping HTTPHandler
    ) {
        let added = state.withLock { state -> Bool in
            guard !state.frozen else { return false }
            var handlers = state.routes[path]?.handlers ?? [:]
            for method in methods { handlers[method] = handler }
            if handlers[.get] != nil && handlers[.head] == nil { handlers[.head] = handlers[.get] }
            let allow = handlers.keys.map(\.rawValue).sorted().joined(separator: ", ")
            state.routes[path] = Route(path: path, instrumented: instrumented, handlers: handlers, allow: allow)
            return true
        }
        if !added {
            let message = "MetricsKitHTTP: Router.add(\"\(path)\") refused: a server started with this router; add routes before start()\n"
            _ = message.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
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

    /// Whether a server started with this router, so routes can no longer be added.
    public var isFrozen: Bool { state.withLock { $0.frozen } }

    /// Freezes the router and returns its routes, for a server about to start.
    func freeze() -> RouteTable {
        state.withLock { state in
            state.frozen = true
            return RouteTable(routes: state.routes)
        }
    }
}

/// A frozen router's routes: immutable, so the server threads read it without locks.
struct RouteTable: Sendable {
    let routes: [String: Router.Route]

    func route(for path: String) -> Router.Route? { routes[path] }
}
