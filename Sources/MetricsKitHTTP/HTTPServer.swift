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
/// ```swift
/// let server = try HTTPServer.metrics(registry, port: 9100)   // serves /metrics, one call
/// ```
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
        public var connectionLimit = 4096
        /// Memory per connection for the request line, headers and buffers. A request whose
        /// headers do not fit is answered 431.
        public var connectionMemoryLimit = 16 * 1024
        /// Seconds a connection may stay idle (or trickle bytes too slowly to finish) before it
        /// is closed.
        public var connectionTimeout = 15
        /// Largest request body accepted; a larger one is answered 413.
        public var maxBodySize = 1 << 20
        /// Request metrics; nil serves without them.
        public var metrics: HTTPMetrics?

        /// The defaults: 0.0.0.0:8080, a thread per CPU.
        public init() {}
    }

    /// The number of CPUs this process may use.
    public static var cpuCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The configuration the server was created with.
    public let configuration: Configuration
    let router: Router
    private var daemon: OpaquePointer?
    private var listenSocket: Int32 = -1
    private let requestsInFlight = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    /// Requests waiting for a later response, so a shutdown past its deadline can answer them.
    let suspended = Mutex<[ObjectIdentifier: RequestContext]>([:])

    /// The port the server listens on (the chosen one when configured with 0).
    public private(set) var port = 0

    /// Creates a server; ``start()`` makes it listen.
    public init(configuration: Configuration = Configuration(), router: Router) {
        self.configuration = configuration
        self.router = router
    }

    /// Starts listening and serving. A started server stays alive, even with no reference to it,
    /// until ``shutdown(gracePeriod:)``.
    public func start() throws {
        guard daemon == nil else { return }
        var address = try SocketAddress(host: configuration.host, port: configuration.port)
        var flags = MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
            | MHD_USE_ERROR_LOG.rawValue | MHD_USE_TURBO.rawValue
        if address.isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        // libmicrohttpd's threads call back into the server until MHD_stop_daemon returns, so a
        // running server keeps itself alive; shutdown() lets go.
        let retained = Unmanaged.passRetained(self)
        let context = retained.toOpaque()
        let started: OpaquePointer? = address.withPointer { sockaddr in
            // One thread is the daemon's own polling thread; a pool of one would be ignored.
            var options: [MHD_OptionItem] =
                configuration.threads > 1
                ? [MHD_OptionItem(option: MHD_OPTION.THREAD_POOL_SIZE, value: configuration.threads, ptr_value: nil)]
                : []
            options += [
                MHD_OptionItem(option: MHD_OPTION.CONNECTION_LIMIT, value: configuration.connectionLimit, ptr_value: nil),
                MHD_OptionItem(
                    option: MHD_OPTION.CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryLimit, ptr_value: nil),
                MHD_OptionItem(option: MHD_OPTION.CONNECTION_TIMEOUT, value: configuration.connectionTimeout, ptr_value: nil),
                // Two-pointer options: the function goes in `value`, its closure in `ptr_value`.
                MHD_OptionItem(
                    option: MHD_OPTION.NOTIFY_COMPLETED,
                    value: Int(bitPattern: unsafeBitCast(requestCompleted, to: UnsafeRawPointer.self)),
                    ptr_value: context),
                MHD_OptionItem(option: MHD_OPTION.SOCK_ADDR, value: 0, ptr_value: UnsafeMutableRawPointer(mutating: sockaddr)),
                MHD_OptionItem(option: MHD_OPTION.LISTENING_ADDRESS_REUSE, value: 1, ptr_value: nil),
                MHD_OptionItem(option: MHD_OPTION.LISTEN_BACKLOG_SIZE, value: 1024, ptr_value: nil),
                MHD_OptionItem(option: MHD_OPTION.END, value: 0, ptr_value: nil),
            ]
            return options.withUnsafeMutableBufferPointer { items in
                withVaList([
                    Int32(MHD_OPTION.ARRAY.rawValue), OpaquePointer(items.baseAddress!), Int32(MHD_OPTION.END.rawValue),
                ]) { arguments in
                    MHD_start_daemon_va(
                        flags, UInt16(truncatingIfNeeded: configuration.port), nil, nil, accessHandler, context,
                        arguments)
                }
            }
        }
        guard let started else {
            retained.release()
            throw HTTPServerError(
                description: "could not listen on \(configuration.host):\(configuration.port) (address in use, or not permitted)")
        }
        daemon = started
        selfReference = retained
        port = Int(metricskit_mhd_bound_port(started))
    }

    /// Whether the server is draining: refusing new connections and finishing what it has.
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Requests being served (instrumented or not), including those waiting for a later response.
    public var inFlight: Int { requestsInFlight.load(ordering: .relaxed) }

    /// Stops accepting connections, finishes in-flight requests for up to `gracePeriod`,
    /// answers whatever still waits with 503, then stops. Returns whether everything in flight
    /// finished in time. Responses sent while draining carry `Connection: close`.
    @discardableResult
    public func shutdown(gracePeriod: Duration = .seconds(25)) -> Bool {
        guard let daemon else { return true }
        draining.store(true, ordering: .relaxed)
        listenSocket = MHD_quiesce_daemon(daemon)
        let deadline = ContinuousClock.now + gracePeriod
        while inFlight > 0 && ContinuousClock.now < deadline {
            usleep(5_000)
        }
        let drained = inFlight == 0
        if !drained {
            let waiting = suspended.withLock { Array($0.values) }
            for context in waiting { context.respond(.text("server is shutting down\n", status: 503)) }
            let grace = ContinuousClock.now + .seconds(1)
            while inFlight > 0 && ContinuousClock.now < grace { usleep(5_000) }
        }
        MHD_stop_daemon(daemon)
        self.daemon = nil
        defer {
            selfReference?.release()
            selfReference = nil
        }
        if listenSocket >= 0 { close(listenSocket) }
        return drained
    }

    /// Held while the daemon runs (see ``start()``); a started server lives until ``shutdown(gracePeriod:)``.
    private var selfReference: Unmanaged<HTTPServer>?

    // MARK: Request handling (MHD threads)

    fileprivate func handle(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        uploadDataSize: UnsafeMutablePointer<Int>, state: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let existing = state.pointee else {
            // First call: headers are in. Answering now would make MHD 0.9.75 close keep-alive
            // connections, so only set up, and answer on a later call.
            let path = String(cString: url)
            let route = router.route(for: path)
            let context = RequestContext(
                server: self, connection: connection, method: HTTPMethod(String(cString: method)), path: path,
                route: route)
            requestsInFlight.wrappingAdd(1, ordering: .relaxed)
            if context.instrumented, let metrics = configuration.metrics {
                metrics.inFlight.increment()
                if let traceparent = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "traceparent") {
                    context.traceID = HTTPMetrics.traceID(fromTraceparent: String(cString: traceparent))
                }
            }
            state.pointee = Unmanaged.passRetained(context).toOpaque()
            if let declared = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "Content-Length"),
                let length = Int(String(cString: declared)), length > configuration.maxBodySize
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
}

/// One request's state between libmicrohttpd's calls, and its responder.
final class RequestContext: HTTPResponder, @unchecked Sendable {
    private enum Phase { case new, waiting, suspended, done }

    unowned let server: HTTPServer
    let connection: OpaquePointer
    let method: HTTPMethod
    let path: String
    let route: Router.Route?
    let start = ContinuousClock.now
    var bodyBytes = 0
    /// The trace id of the request's `traceparent` header, for exemplars.
    var traceID: String?
    /// The status queued, once a response went out.
    private(set) var sentStatus: Int?

    private let lock = Mutex<(phase: Phase, response: HTTPResponse?)>((.new, nil))

    var instrumented: Bool { route?.instrumented ?? true }

    init(server: HTTPServer, connection: OpaquePointer, method: HTTPMethod, path: String, route: Router.Route?) {
        self.server = server
        self.connection = connection
        self.method = method
        self.path = path
        self.route = route
    }

    /// Called by MHD once the request is fully received, and again after a resume.
    func proceed() -> MHD_Result {
        let phase = lock.withLock { $0.phase }
        switch phase {
        case .new:
            lock.withLock { $0.phase = .waiting }
            dispatch()
            return lock.withLock { state -> MHD_Result in
                if let response = state.response {
                    state.phase = .done
                    return queue(response)
                }
                state.phase = .suspended
                server.suspended.withLock { $0[ObjectIdentifier(self)] = self }
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
        if bodyBytes > server.configuration.maxBodySize {
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
                server.suspended.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
                MHD_resume_connection(connection)
            }
        }
    }

    /// Hands the response to MHD (under the lock, on an MHD thread).
    private func queue(_ response: HTTPResponse) -> MHD_Result {
        sentStatus = response.status
        let closing = server.isDraining || response.status == 413
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

private let requestCompleted: MHD_RequestCompletedCallback = { cls, _, state, _ in
    guard let cls, let state, let raw = state.pointee else { return }
    state.pointee = nil
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    server.completed(Unmanaged<RequestContext>.fromOpaque(raw).takeRetainedValue())
}

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
}
