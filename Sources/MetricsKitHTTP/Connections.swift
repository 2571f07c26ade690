import CMicroHTTPD
import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One connection's deadline state, created when libmicrohttpd accepts it and dropped when it
/// closes. The request path only stores into `phase` (one relaxed atomic store per step).
final class ConnectionState: @unchecked Sendable {
    /// What the connection waits for; the low 60 bits of `phase` hold when that began.
    enum Phase: UInt64 {
        /// Request headers, since the connection opened or since its last response.
        case headers = 0
        /// The request body, since the headers arrived.
        case body = 1
        /// The application's answer (no deadline: a delay is the server's own doing).
        case processing = 2
    }

    let fd: Int32
    private let phase: Atomic<UInt64>
    /// Set when the connection must close gracefully: its last response said
    /// `Connection: close`, or libmicrohttpd answered an error itself.
    let lingerOnClose = Atomic<Bool>(false)
    /// Set (under the table lock) when a deadline closed the connection.
    var reaped = false

    init(fd: Int32, now: UInt64) {
        self.fd = fd
        phase = Atomic(now)
    }

    @inline(__always)
    func enter(_ next: Phase, at now: UInt64) {
        phase.store(next.rawValue << 60 | now, ordering: .relaxed)
    }

    /// Whether the phase has lasted longer than its limit (milliseconds; 0 = no limit).
    func isOverdue(now: UInt64, headerLimit: UInt64, bodyLimit: UInt64) -> Bool {
        let value = phase.load(ordering: .relaxed)
        let since = value & (1 << 60 - 1)
        let limit: UInt64
        switch Phase(rawValue: value >> 60) {
        case .headers: limit = headerLimit
        case .body: limit = bodyLimit
        default: return false
        }
        return limit > 0 && now > since && now - since > limit
    }
}

/// The open connections, the request-header and body deadlines libmicrohttpd does not have
/// (its `CONNECTION_TIMEOUT` is an idle timeout, which a client trickling one byte at a time
/// never reaches), and graceful closes.
///
/// A timer ticks every 100 ms: it advances a coarse clock that the request path reads instead
/// of the system clock, and closes (`shutdown(2)`, which libmicrohttpd then sees as a closed
/// connection) each connection that overran its deadline. The close runs under the table lock,
/// and libmicrohttpd reports a connection closed (removing it from the table) before it closes
/// the descriptor, so a descriptor is never shut down after the kernel reused it.
final class ConnectionTable: @unchecked Sendable {
    private let open = Mutex<[ObjectIdentifier: ConnectionState]>([:])
    private let clock = Atomic<UInt64>(0)
    private let started = ContinuousClock.now
    private let headerLimit: UInt64
    private let bodyLimit: UInt64
    private let timer: any DispatchSourceTimer

    /// Deadlines in seconds; 0 turns one off.
    init(headerTimeout: Int, bodyTimeout: Int) {
        headerLimit = UInt64(headerTimeout) * 1000
        bodyLimit = UInt64(bodyTimeout) * 1000
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "metricskit.http.deadlines"))
        timer.schedule(deadline: .now(), repeating: .milliseconds(100), leeway: .milliseconds(20))
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
    }

    func stop() { timer.cancel() }

    /// Milliseconds since the table was made, as of the last tick.
    @inline(__always)
    var now: UInt64 { clock.load(ordering: .relaxed) }

    private func tick() {
        let elapsed = ContinuousClock.now - started
        let now = UInt64(elapsed.components.seconds) * 1000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000_000)
        clock.store(now, ordering: .relaxed)
        guard headerLimit > 0 || bodyLimit > 0 else { return }
        open.withLock { connections in
            for state in connections.values
            where !state.reaped && state.isOverdue(now: now, headerLimit: headerLimit, bodyLimit: bodyLimit) {
                state.reaped = true
                shutdown(state.fd, Int32(SHUT_RDWR))
            }
        }
    }

    func opened(_ connection: OpaquePointer) -> ConnectionState {
        let state = ConnectionState(fd: metricskit_mhd_connection_fd(connection), now: now)
        open.withLock { $0[ObjectIdentifier(state)] = state }
        return state
    }

    /// Called before libmicrohttpd closes the descriptor. When the connection ended with an
    /// error answer or unread input, closing at once would make the kernel send a reset (and
    /// drop the answer); the socket lingers instead: write side shut, input read and discarded.
    func closed(_ state: ConnectionState) {
        let reaped = open.withLock { connections in
            connections.removeValue(forKey: ObjectIdentifier(state))
            return state.reaped
        }
        guard !reaped, state.fd >= 0 else { return }
        if state.lingerOnClose.load(ordering: .relaxed) || metricskit_unread_bytes(state.fd) > 0 {
            Lingering.adopt(state.fd)
        }
    }
}

/// Sockets closing gracefully: a duplicate of the descriptor keeps the socket open after
/// libmicrohttpd closes its own; the write side is shut (the answer, then FIN), and input is
/// read and discarded until the client closes or 5 seconds pass. At most 1024 at once, for
/// all servers of the process together.
enum Lingering {
    private static let limit = 1024
    private static let duration = DispatchTimeInterval.seconds(5)
    private static let count = Atomic<Int>(0)
    private static let queue = DispatchQueue(label: "metricskit.http.linger")
    /// Where discarded input goes; used only on `queue`, never freed.
    nonisolated(unsafe) private static let scratch = UnsafeMutableRawBufferPointer.allocate(
        byteCount: 64 * 1024, alignment: 8)

    static func adopt(_ fd: Int32) {
        guard count.wrappingAdd(1, ordering: .relaxed).newValue <= limit else {
            count.wrappingAdd(-1, ordering: .relaxed)
            return
        }
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else {
            count.wrappingAdd(-1, ordering: .relaxed)
            return
        }
        shutdown(copy, Int32(SHUT_WR))
        nonisolated(unsafe) let source = DispatchSource.makeReadSource(fileDescriptor: copy, queue: queue)
        source.setEventHandler {
            while true {
                let n = recv(copy, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT))
                if n > 0 { continue }
                if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { source.cancel() }
                return
            }
        }
        source.setCancelHandler {
            close(copy)
            count.wrappingAdd(-1, ordering: .relaxed)
        }
        source.resume()
        queue.asyncAfter(deadline: .now() + duration) { source.cancel() }
    }
}
