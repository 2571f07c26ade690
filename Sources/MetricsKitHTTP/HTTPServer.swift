import CMicroHTTPD
import Dispatch
import MetricsKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why a server could not start.
public struct HTTPServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
}

/// A small HTTP/1.1 server over libmicrohttpd: epoll with an internal thread pool, keep-alive,
/// `HEAD`, 404/405 answers, limits against hostile clients, responses that arrive later
/// without holding a thread, request metrics, and a graceful shutdown.
///
/// Against hostile clients: a request must complete its headers within ``Configuration/headerTimeout``
/// (counted from the connection's start or its previous response) and its body within
/// ``Configuration/bodyTimeout``, or the connection is closed; one client address may hold at
/// most ``Configuration/maxConnectionsPerIP`` connections. Requests whose length is
/// ambiguous (conflicting `Content-Length` fields, `Content-Length` with `Transfer-Encoding`, a
/// `Transfer-Encoding` other than `chunked`, a header name that is not a token), HTTP/1.1
/// requests without `Host`, and paths with a control byte (raw or percent-encoded, such as
/// `%00`) are answered 400 and the connection closed. Error answers are sent in full before a
/// graceful close (no reset). The listening socket is exclusive (no `SO_REUSEPORT`), and is
/// closed at the start of ``shutdown(gracePeriod:)``, so new connections are refused at once.
///
/// ```swift
/// let server = try HTTPServer.metrics(registry, port: 9100)   // serves /metrics, one call
/// ```
// @unchecked: what start() and shutdown() change is in `lifecycle`, under its lock; `serving`
// is written only by start(), before MHD_start_daemon creates the threads that read it, and not
// again until MHD_stop_daemon has joined them; the rest is immutable, atomic or under a Mutex.
public final class HTTPServer: @unchecked Sendable {
    /// What the server is allowed to use, and how it treats slow or greedy clients.
    public struct Configuration: Sendable {
        /// Address to listen on (IPv4 or IPv6 literal).
        public var host = "0.0.0.0"
        /// Port; 0 picks a free one (see ``HTTPServer/port``).
        public var port = 8080
        /// Threads serving connections (each with its own epoll set).
        public var threads = HTTPServer.cpuCount
        /// Most connections open at once; further ones are refused at accept.
        public var maxConnections = 4096
        /// Memory per connection for the request line, headers and buffers. A request whose
        /// headers do not fit is answered 431.
        public var connectionMemoryLimit = 16 * 1024
        /// Most connections one client address may hold at once (libmicrohttpd's per-IP limit);
        /// further ones are closed at accept. 0: no limit. Behind a proxy every connection comes
        /// from the proxy's address.
        /// Default: ``defaultMaxConnectionsPerIP(maxConnections:)`` of the default ``maxConnections``.
        public var maxConnectionsPerIP: Int
        /// Seconds a connection may stay idle (no bytes moving either way) before it is closed.
        public var connectionTimeout = 15
        /// Seconds a client has to send complete request headers, from the connection's start or
        /// from its previous response (so it also bounds a keep-alive connection's idle time);
        /// then the connection is closed. Trickling bytes does not extend it. 0: no deadline.
        public var headerTimeout = 10
        /// Seconds a client has to send a request's body once its headers are in; then the
        /// connection is closed. 0: no deadline.
        public var bodyTimeout = 30
        /// Largest request body accepted; a larger one is answered 413.
        public var maxBodyBytes = 1 << 20
        /// Request metrics; nil serves without them. ``HTTPServer/start()`` creates each
        /// instrumented route's `status="200"` request series at 0.
        public var metrics: HTTPMetrics?

        /// The defaults: 0.0.0.0:8080, a thread per CPU this process may use.
        public init() {
            maxConnectionsPerIP = Self.defaultMaxConnectionsPerIP(maxConnections: maxConnections)
        }

        /// The per-address limit that goes with `maxConnections` unless set: a quarter of it (at
        /// least 1), so one client cannot take every connection.
        public static func defaultMaxConnectionsPerIP(maxConnections: Int) -> Int { max(1, maxConnections / 4) }
    }

    /// The number of CPUs this process may use: the online CPUs, limited by the affinity mask
    /// and by the cgroup CPU quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`), rounded up. In
    /// a pod with a CPU limit of 2 it is 2, however many CPUs the node has.
    public static var cpuCount: Int { AvailableCPUs.count }

    /// The configuration the server was created with.
    public let configuration: Configuration
    let router: Router
    /// The running daemon, the reference that keeps a started server alive, and the port.
    private struct Lifecycle {
        var daemon: OpaquePointer?
        var stopping = false
        /// Held while the daemon runs (see ``start()``); a started server lives until ``shutdown(gracePeriod:)``.
        var selfReference: Unmanaged<HTTPServer>?
        var port = 0
    }
    private let lifecycle = Mutex(Lifecycle())
    /// What the server threads read on every request: the frozen routes and the connections'
    /// deadline table (see the `@unchecked Sendable` note above).
    private struct Serving {
        let routes: RouteTable
        let connections: ConnectionTable
    }
    private var serving: Serving?
    private let requestsInFlight = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    /// Requests waiting for a later response (their connections suspended), so a shutdown past
    /// its deadline can answer them. Once `closed`, no connection may be suspended any more:
    /// libmicrohttpd aborts the process when it is stopped with a suspended connection.
    struct Suspended {
        var requests: [ObjectIdentifier: RequestContext] = [:]
        var closed = false
    }
    let suspended = Mutex(Suspended())

    /// The port the server listens on (the chosen one when configured with 0); 0 before ``start()``.
    public var port: Int { lifecycle.withLock { $0.port } }

    /// Creates a server; ``start()`` makes it listen.
    public init(configuration: Configuration = Configuration(), router: Router) {
        self.configuration = configuration
        self.router = router
    }

    /// Starts listening and serving, and freezes the router (routes can no longer be added). A
    /// started server stays alive, even with no reference to it, until ``shutdown(gracePeriod:)``.
    /// Starting a started server does nothing.
    public func start() throws {
        try lifecycle.withLock { state in
            guard state.daemon == nil else { return }
            try start(&state)
        }
    }

    private func start(_ state: inout Lifecycle) throws {
        try configuration.validate()
        var address = try SocketAddress(host: configuration.host, port: configuration.port)
        // The server binds the socket itself: bind errors get their real reason, and the socket
        // has SO_REUSEADDR (restart while old connections linger) but never SO_REUSEPORT, so a
        // second process cannot listen on the same port and take half the connections.
        let listening = try address.listen(backlog: 1024, description: "\(configuration.host):\(configuration.port)")
        var flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
            | MHD_USE_ERROR_LOG.rawValue | MHD_USE_TURBO.rawValue
        if address.isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        let table = ConnectionTable(headerTimeout: configuration.headerTimeout, bodyTimeout: configuration.bodyTimeout)
        let routes = router.freeze()
        configuration.metrics?.prepare(routes)
        serving = Serving(routes: routes, connections: table)
        // libmicrohttpd's threads call back into the server until MHD_stop_daemon returns, so a
        // running server keeps itself alive; shutdown() lets go.
        let retained = Unmanaged.passRetained(self)
        let context = retained.toOpaque()
        func callback<F>(_ function: F) -> Int { Int(bitPattern: unsafeBitCast(function, to: UnsafeRawPointer.self)) }
        // The logger first, so it gets every message. One thread is the daemon's own polling
        // thread; a pool of one would be ignored.
        var options = [MHD_OptionItem(option: MHD_OPTION.EXTERNAL_LOGGER, value: callback(libraryMessage), ptr_value: context)]
        if configuration.threads > 1 {
            options.append(MHD_OptionItem(option: MHD_OPTION.THREAD_POOL_SIZE, value: configuration.threads, ptr_value: nil))
        }
        options += [
            MHD_OptionItem(option: MHD_OPTION.LISTEN_SOCKET, value: Int(listening), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_LIMIT, value: configuration.maxConnections, ptr_value: nil),
            MHD_OptionItem(
                option: MHD_OPTION.PER_IP_CONNECTION_LIMIT, value: configuration.maxConnectionsPerIP,
                ptr_value: nil),
            MHD_OptionItem(
                option: MHD_OPTION.CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryLimit, ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_TIMEOUT, value: configuration.connectionTimeout, ptr_value: nil),
            // Strict: HTTP/1.1 without Host, and spaces in the request target, are answered 400.
            MHD_OptionItem(option: MHD_OPTION.STRICT_FOR_CLIENT, value: 1, ptr_value: nil),
            // Two-pointer options: the function goes in `value`, its closure in `ptr_value`.
            MHD_OptionItem(option: MHD_OPTION.NOTIFY_COMPLETED, value: callback(requestCompleted), ptr_value: context),
            MHD_OptionItem(option: MHD_OPTION.NOTIFY_CONNECTION, value: callback(connectionChanged), ptr_value: context),
            MHD_OptionItem(option: MHD_OPTION.URI_LOG_CALLBACK, value: callback(requestLineRead), ptr_value: context),
            MHD_OptionItem(option: MHD_OPTION.END, value: 0, ptr_value: nil),
        ]
        let started: OpaquePointer? = options.withUnsafeMutableBufferPointer { items in
            withVaList([
                Int32(MHD_OPTION.ARRAY.rawValue), OpaquePointer(items.baseAddress!), Int32(MHD_OPTION.END.rawValue),
            ]) { arguments in
                MHD_start_daemon_va(flags, 0, nil, nil, accessHandler, context, arguments)
            }
        }
        guard let started else {
            // libmicrohttpd closes the listening socket on its failure paths.
            retained.release()
            table.stop()
            throw HTTPServerError(
                description:
                    "libmicrohttpd could not start serving \(configuration.host):\(configuration.port) with \(configuration.threads) threads (see its message above)"
            )
        }
        state.daemon = started
        state.selfReference = retained
        state.port = address.boundPort(of: listening)
    }

    /// The grace period of ``shutdown(gracePeriod:)`` unless given: 25 s, below Kubernetes' default
    /// `terminationGracePeriodSeconds` of 30.
    public static let defaultGracePeriod: Duration = .seconds(25)

    /// The answer to requests still waiting when the shutdown deadline has passed.
    static let shuttingDown = HTTPResponse.text("server is shutting down\n", status: 503)

    /// Whether the server is draining: refusing new connections and finishing what it has.
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Requests being served (instrumented or not), including those waiting for a later response.
    public var inFlight: Int { requestsInFlight.load(ordering: .relaxed) }

    /// Stops accepting connections (the listening socket is closed at once, so new connections
    /// are refused rather than queued), finishes in-flight requests for up to `gracePeriod`,
    /// answers whatever still waits with 503, then stops. Returns whether everything in flight
    /// finished in time. Responses sent while draining carry `Connection: close`. A handler still
    /// running on a server thread past the deadline (synchronous work) holds the stop until it
    /// returns; its request then gets the handler's own answer if it gave one, else 503, or its
    /// connection is closed, never left waiting. A stopped server can be started again.
    @discardableResult
    public func shutdown(gracePeriod: Duration = HTTPServer.defaultGracePeriod) -> Bool {
        // One caller stops the daemon; others (and calls on a server not started) return at once.
        let running = lifecycle.withLock { state -> UnsafeMutableRawPointer? in
            guard let daemon = state.daemon, !state.stopping else { return nil }
            state.stopping = true
            return UnsafeMutableRawPointer(daemon)
        }
        guard let running else { return true }
        let daemon = OpaquePointer(running)
        draining.store(true, ordering: .relaxed)
        // libmicrohttpd stops polling the socket and hands it back; left open, the kernel would
        // keep completing handshakes into its backlog that nobody accepts.
        let listening = MHD_quiesce_daemon(daemon)
        if listening >= 0 { close(listening) }
        let deadline = ContinuousClock.now + gracePeriod
        while inFlight > 0 && ContinuousClock.now < deadline {
            usleep(5_000)
        }
        let finished = inFlight == 0
        // From here on a request whose handler has not answered gets 503 instead of being
        // suspended (a handler still busy past the deadline, or a new request on a kept-alive
        // connection); those already suspended get it now, even when everything had finished
        // a moment ago (a request may have arrived on a kept-alive connection since).
        let waiting = suspended.withLock { state in
            state.closed = true
            return Array(state.requests.values)
        }
        let drained = finished && waiting.isEmpty
        for context in waiting { context.respond(Self.shuttingDown) }
        if !drained {
            let grace = ContinuousClock.now + .seconds(1)
            while inFlight > 0 && ContinuousClock.now < grace { usleep(5_000) }
        }
        // Waits for handlers still running on the server's threads (such as CPU work).
        MHD_stop_daemon(daemon)
        suspended.withLock { $0.closed = false }
        draining.store(false, ordering: .relaxed)
        serving?.connections.stop()
        let reference = lifecycle.withLock { state in
            state.daemon = nil
            state.stopping = false
            defer { state.selfReference = nil }
            return state.selfReference.map { UnsafeMutableRawPointer($0.toOpaque()) }
        }
        // Last: this may free the server.
        if let reference { Unmanaged<HTTPServer>.fromOpaque(reference).release() }
        return drained
    }

    // MARK: Request handling (MHD threads)

    fileprivate func handle(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        uploadDataSize: UnsafeMutablePointer<Int>, state: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let existing = state.pointee, existing != RequestLine.valid, existing != RequestLine.controlByteInPath
        else {
            // First call: headers are in. Answering now would make MHD 0.9.75 close keep-alive
            // connections, so only set up, and answer on a later call (unless refusing).
            let headers = RequestChecks.scanHeaders(connection)
            let rejected = state.pointee == RequestLine.controlByteInPath || headers.problem != nil
            let path = String(cString: url)
            let route = rejected ? nil : serving!.routes.route(for: path)
            let context = RequestContext(
                server: self, connection: connection, method: HTTPMethod(String(cString: method)), path: path,
                route: route, rejected: rejected)
            context.connectionState?.enter(.body, at: serving!.connections.now)
            requestsInFlight.wrappingAdd(1, ordering: .relaxed)
            if context.instrumented, let metrics = configuration.metrics {
                metrics.inFlight.increment()
                if let traceparent = headers.traceparent {
                    context.traceID = HTTPMetrics.traceID(fromTraceparent: String(cString: traceparent))
                }
            }
            state.pointee = Unmanaged.passRetained(context).toOpaque()
            if rejected { return context.proceed() }  // 400 and close, before reading any body
            if let declared = headers.contentLength, let length = Int(String(cString: declared)),
                length > configuration.maxBodyBytes
            {
                // Refuse a declared oversized body before reading it; MHD then closes the
                // connection instead of receiving the rest.
                context.bodyBytes = length
                return context.proceed()
            }
            return MHD_Result.YES
        }
        let context = Unmanaged<RequestContext>.fromOpaque(existing).takeUnretainedValue()
        if uploadDataSize.pointee > 0 {
            context.bodyBytes += uploadDataSize.pointee
            uploadDataSize.pointee = 0  // consumed (and discarded: no route reads bodies)
            return MHD_Result.YES
        }
        return context.proceed()
    }

    fileprivate func completed(_ context: RequestContext) {
        context.connectionState?.enter(.headers, at: serving!.connections.now)
        if context.instrumented, let metrics = configuration.metrics {
            metrics.inFlight.decrement()
            if let status = context.sentStatus {
                let seconds = (ContinuousClock.now - context.start) / .seconds(1)
                metrics.record(
                    method: context.method, path: context.route?.path ?? HTTPMetrics.unmatchedPath, status: status,
                    seconds: seconds, traceID: context.traceID)
            }
        }
        requestsInFlight.wrappingAdd(-1, ordering: .relaxed)
    }

    fileprivate func connectionOpened(_ connection: OpaquePointer) -> ConnectionState {
        serving!.connections.opened(connection)
    }

    fileprivate func connectionClosed(_ state: ConnectionState) {
        serving!.connections.closed(state)
    }

    /// Library messages written in the current second: (second, count).
    private let libraryMessages = Mutex<(second: Int64, count: Int)>((0, 0))

    fileprivate func mayLogLibraryMessage() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return libraryMessages.withLock { state in
            if state.second != Int64(now.tv_sec) { state = (Int64(now.tv_sec), 0) }
            state.count += 1
            return state.count <= 20
        }
    }

    /// A request libmicrohttpd answered itself with an error (400, 413, 414, 431, 505) and
    /// closed, before any handler saw it: counted with `path="unmatched"`, `method="OTHER"`
    /// (libmicrohttpd does not report the method of such requests).
    fileprivate func answeredByLibrary(status: Int) {
        configuration.metrics?.countRefused(status: status)
    }
}

/// Markers for the request state between the request line and the first handler call (what
/// `MHD_OPTION_URI_LOG_CALLBACK` returns); the handler replaces them with a ``RequestContext``.
enum RequestLine {
    static var valid: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: 1)! }
    static var controlByteInPath: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: 2)! }
}

extension HTTPServer.Configuration {
    /// Checks the numbers against what libmicrohttpd can take (its options are 32-bit).
    func validate() throws {
        let unsigned = 0...Int(UInt32.max)
        let checks: [(String, Int, ClosedRange<Int>)] = [
            ("threads", threads, 1...1024),
            ("maxConnections", maxConnections, 1...Int(UInt32.max)),
            ("maxConnectionsPerIP", maxConnectionsPerIP, unsigned),
            ("connectionMemoryLimit", connectionMemoryLimit, 4096...Int(UInt32.max)),
            ("connectionTimeout", connectionTimeout, unsigned),
            ("headerTimeout", headerTimeout, 0...Int(UInt32.max / 1000)),
            ("bodyTimeout", bodyTimeout, 0...Int(UInt32.max / 1000)),
            ("maxBodyBytes", maxBodyBytes, 0...Int.max),
        ]
        for (name, value, range) in checks where !range.contains(value) {
            throw HTTPServerError(
                description: "HTTPServer.Configuration.\(name): \(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
    }
}

/// One request's state between libmicrohttpd's calls, and its responder.
// @unchecked: `phase` and `response` are under `lock`; `bodyBytes` and `traceID` are touched
// only by libmicrohttpd's calls for this request, which one connection gets on one thread at a
// time; `sentStatus` is written under `lock` in queue() and read in completed(), which
// libmicrohttpd calls after the response went out.
final class RequestContext: HTTPResponder, @unchecked Sendable {
    private enum Phase { case new, waiting, suspended, done }

    unowned let server: HTTPServer
    let connection: OpaquePointer
    let method: HTTPMethod
    let path: String
    let route: Router.Route?
    /// Refused for its framing or path: answered 400, connection closed.
    let rejected: Bool
    /// The connection's deadline state (alive until after the request completes).
    unowned(unsafe) let connectionState: ConnectionState?
    let start = ContinuousClock.now
    var bodyBytes = 0
    /// The trace id of the request's `traceparent` header, for exemplars.
    var traceID: String?
    /// The status queued, once a response went out.
    private(set) var sentStatus: Int?

    private let lock = Mutex<(phase: Phase, response: HTTPResponse?)>((.new, nil))

    var instrumented: Bool { route?.instrumented ?? true }

    init(
        server: HTTPServer, connection: OpaquePointer, method: HTTPMethod, path: String, route: Router.Route?,
        rejected: Bool
    ) {
        self.server = server
        self.connection = connection
        self.method = method
        self.path = path
        self.route = route
        self.rejected = rejected
        connectionState = metricskit_mhd_socket_context(connection).map {
            Unmanaged<ConnectionState>.fromOpaque($0).takeUnretainedValue()
        }
    }

    /// Called by MHD once the request is fully received, and again after a resume.
    func proceed() -> MHD_Result {
        let phase = lock.withLock { $0.phase }
        switch phase {
        case .new:
            connectionState?.enter(.processing, at: 0)
            lock.withLock { $0.phase = .waiting }
            dispatch()
            return lock.withLock { state -> MHD_Result in
                if let response = state.response {
                    state.phase = .done
                    return queue(response)
                }
                let parked = server.suspended.withLock { waiting -> Bool in
                    guard !waiting.closed else { return false }
                    waiting.requests[ObjectIdentifier(self)] = self
                    return true
                }
                guard parked else {
                    // The shutdown deadline has passed: answer now (a later respond is ignored).
                    state.response = HTTPServer.shuttingDown
                    state.phase = .done
                    return queue(HTTPServer.shuttingDown)
                }
                state.phase = .suspended
                MHD_suspend_connection(connection)
                return MHD_Result.YES
            }
        case .suspended:
            // Resumed: the response is there.
            return lock.withLock { state -> MHD_Result in
                guard let response = state.response else { return MHD_Result.YES }
                state.phase = .done
                return queue(response)
            }
        case .waiting, .done:
            return MHD_Result.YES
        }
    }

    private func dispatch() {
        if rejected {
            respond(HTTPResponse.text("bad request\n", status: 400))
            return
        }
        if bodyBytes > server.configuration.maxBodyBytes {
            respond(HTTPResponse.text("request body too large\n", status: 413))
            return
        }
        guard let route else {
            respond(HTTPResponse.text("not found\n", status: 404))
            return
        }
        guard let handler = route.handlers[method] else {
            var response = HTTPResponse.text("method not allowed\n", status: 405)
            response.headers.append(("Allow", route.allow))
            respond(response)
            return
        }
        handler(HTTPRequest(method: method, path: path, connection: connection), self)
    }

    func respond(_ response: HTTPResponse) {
        lock.withLock { state in
            guard state.response == nil else { return }
            state.response = response
            if state.phase == .suspended {
                server.suspended.withLock { _ = $0.requests.removeValue(forKey: ObjectIdentifier(self)) }
                MHD_resume_connection(connection)
            }
        }
    }

    /// Hands the response to MHD (under the lock, on an MHD thread).
    private func queue(_ response: HTTPResponse) -> MHD_Result {
        sentStatus = response.status
        let closing = server.isDraining || response.status == 413 || rejected
        if closing { connectionState?.lingerOnClose.store(true, ordering: .relaxed) }
        if let prepared = response.preparedObject, !closing {
            return MHD_queue_response(connection, UInt32(response.status), prepared.pointer)
        }
        let pointer = MHDResponse.make(response, closeConnection: closing)
        defer { MHD_destroy_response(pointer) }
        return MHD_queue_response(connection, UInt32(response.status), pointer)
    }
}

// MARK: - C callbacks (state arrives through the closure pointers, never captures)

private let accessHandler: MHD_AccessHandlerCallback = {
    cls, connection, url, method, _, _, uploadDataSize, state in
    let server = Unmanaged<HTTPServer>.fromOpaque(cls!).takeUnretainedValue()
    return server.handle(
        connection: connection!, url: url!, method: method!, uploadDataSize: uploadDataSize!, state: state!)
}

private let requestCompleted: MHD_RequestCompletedCallback = { cls, connection, state, _ in
    guard let cls, let state, let raw = state.pointee else { return }
    state.pointee = nil
    guard raw != RequestLine.valid, raw != RequestLine.controlByteInPath else {
        // No handler saw it: libmicrohttpd answered an error and closes, or the client left
        // mid-headers. Close gracefully: unread input must not turn the answer into a reset.
        if let connection, let socket = metricskit_mhd_socket_context(connection) {
            Unmanaged<ConnectionState>.fromOpaque(socket).takeUnretainedValue().lingerOnClose.store(
                true, ordering: .relaxed)
        }
        return
    }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    server.completed(Unmanaged<RequestContext>.fromOpaque(raw).takeRetainedValue())
}

/// The request line is read (raw target, before decoding): check its path for control bytes.
private let requestLineRead: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?) ->
    UnsafeMutableRawPointer? = { _, target, _ in
        guard let target else { return RequestLine.valid }
        return RequestChecks.pathHasControlByte(target) ? RequestLine.controlByteInPath : RequestLine.valid
    }

private let connectionChanged: MHD_NotifyConnectionCallback = { cls, connection, socketContext, event in
    guard let cls, let connection, let socketContext else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    if event.rawValue == 0 /* MHD_CONNECTION_NOTIFY_STARTED */ {
        socketContext.pointee = Unmanaged.passRetained(server.connectionOpened(connection)).toOpaque()
    } else if let raw = socketContext.pointee {
        socketContext.pointee = nil
        server.connectionClosed(Unmanaged<ConnectionState>.fromOpaque(raw).takeRetainedValue())
    }
}

/// libmicrohttpd's messages go to standard error, at most 20 a second: most are about one
/// client's misbehaviour, and a flood of them into a slow pipe would block the server threads.
/// The one it logs for each error answer it sends itself also counts that answer.
private let libraryMessage: MHD_LogCallback = { cls, format, arguments in
    guard let cls, let format, let arguments else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    if strcmp(format, libraryErrorAnswerFormat) == 0 {
        server.answeredByLibrary(status: Int(metricskit_first_unsigned_argument(arguments)))
    }
    if server.mayLogLibraryMessage() { vdprintf(2, format, arguments) }
}

/// The message libmicrohttpd 0.9.75 logs when it answers a request with an error itself.
private let libraryErrorAnswerFormat = "Error processing request (HTTP response code is %u ('%s')). Closing connection.\n"

/// An IPv4 or IPv6 listening address.
struct SocketAddress {
    private var storage = sockaddr_storage()
    let isIPv6: Bool

    init(host: String, port: Int) throws {
        guard (0...65535).contains(port) else { throw HTTPServerError(description: "port \(port) is out of range") }
        if host.contains(":") {
            isIPv6 = true
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(port).bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                throw HTTPServerError(description: "\(host) is not an IPv6 address")
            }
            withUnsafeBytes(of: address) { bytes in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) }
            }
        } else {
            isIPv6 = false
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(port).bigEndian
            let literal = host == "localhost" ? "127.0.0.1" : host
            guard inet_pton(AF_INET, literal, &address.sin_addr) == 1 else {
                throw HTTPServerError(description: "\(host) is not an IPv4 address")
            }
            withUnsafeBytes(of: address) { bytes in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) }
            }
        }
    }

    mutating func withPointer<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }

    /// A bound, listening, non-blocking socket, or an error saying why not (`description` names
    /// the address in it).
    mutating func listen(backlog: Int32, description: String) throws -> Int32 {
        let family = isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw HTTPServerError(description: "could not listen on \(description): \(String(cString: strerror(errno)))")
        }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if isIPv6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let length = socklen_t(isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let bound = withPointer { Glibc.bind(fd, $0, length) } == 0
        guard bound, Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            let reason =
                switch code {
                case EADDRINUSE: "address in use (another process listens on it)"
                case EACCES: "permission denied"
                default: String(cString: strerror(code))
                }
            throw HTTPServerError(description: "could not listen on \(description): \(reason)")
        }
        return fd
    }

    /// The port a socket is bound to.
    func boundPort(of fd: Int32) -> Int {
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return 0 }
        return withUnsafeBytes(of: bound) { bytes in
            // sin_port and sin6_port sit at the same offset, after the family.
            Int(UInt16(bigEndian: bytes.load(fromByteOffset: 2, as: UInt16.self)))
        }
    }
}
