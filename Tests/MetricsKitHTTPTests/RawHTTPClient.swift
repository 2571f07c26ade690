import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.1 client over a plain socket, so tests control every byte (keep-alive,
/// garbage, trickling) and see exactly what the server sends.
final class RawHTTPClient: @unchecked Sendable {
    struct Response {
        var status: Int
        var headers: [String: String]  // lower-cased names
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// The errno of a failed connect (ECONNREFUSED when nothing listens), else 0.
        var code: Int32 = 0
    }

    let fd: Int32
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port`, from `sourceAddress` (another loopback address such as
    /// 127.0.0.2, to act as a different client) when given.
    init(port: Int, timeoutSeconds: Int = 10, sourceAddress: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let sourceAddress {
            var source = sockaddr_in()
            source.sin_family = sa_family_t(AF_INET)
            source.sin_addr.s_addr = inet_addr(sourceAddress)
            let bound = withUnsafePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw Failure(description: "bind to \(sourceAddress) failed: errno \(errno)") }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // No close here on failure: the object is fully initialized, so deinit closes the
        // socket. Closing it twice could close a descriptor another thread (an in-process
        // server) has been handed in between, which libmicrohttpd treats as fatal.
        let code = errno
        guard result == 0 else { throw Failure(description: "connect to port \(port) failed: errno \(code)", code: code) }
    }

    /// How a connection ended for ``readToEnd(timeout:)``.
    enum Ending: Equatable { case closed, reset, timedOut }

    /// Everything the server sends until it closes the connection, resets it, or `timeout`
    /// passes (including bytes already buffered by ``readResponse(bodyExpected:)``).
    func readToEnd(timeout: Duration = .seconds(10)) -> (bytes: [UInt8], ending: Ending) {
        var received = pending
        pending.removeAll()
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        repeat {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, timeout == .zero ? 0 : 50) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                received += buffer[..<n]
            } else if n == 0 {
                return (received, .closed)
            } else if errno == ECONNRESET {
                return (received, .reset)
            }
        } while ContinuousClock.now < deadline
        return (received, .timedOut)
    }

    /// Whether the server closes (or resets) the connection within `timeout`; data it sends
    /// meanwhile is discarded.
    func closedByServer(within timeout: Duration) -> Bool {
        readToEnd(timeout: timeout).ending != .timedOut
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sends raw bytes; false if the connection is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Sends a request and reads its response on this (kept-alive) connection.
    func request(_ method: String = "GET", _ path: String, headers: [String: String] = [:]) throws -> Response {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        guard send(text) else { throw Failure(description: "send failed") }
        return try readResponse(bodyExpected: method != "HEAD")
    }

    /// Reads one response; nil status if the server closed the connection first.
    func readResponse(bodyExpected: Bool = true) throws -> Response {
        while true {
            if let end = headerEnd() {
                let head = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeFirst(end + 4)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                    throw Failure(description: "bad status line: \(head)")
                }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)
                }
                let length = bodyExpected ? Int(headers["content-length"] ?? "0") ?? 0 : 0
                while pending.count < length {
                    guard try fill() else { throw Failure(description: "closed inside a body") }
                }
                let body = Array(pending[..<length])
                pending.removeFirst(length)
                return Response(status: status, headers: headers, body: body)
            }
            guard try fill() else { throw Failure(description: "connection closed before a response") }
        }
    }

    /// Whether the server has closed the connection (reads until EOF or timeout).
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    private func headerEnd() -> Int? {
        guard pending.count >= 4 else { return nil }
        for i in 0...(pending.count - 4)
        where pending[i] == 13 && pending[i + 1] == 10 && pending[i + 2] == 13 && pending[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func fill() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw Failure(description: "recv failed: errno \(errno)") }
        if n == 0 { return false }
        pending += buffer[..<n]
        return true
    }

    /// The errno of connecting to `port` (0: connected), closing the connection at once.
    static func connectOutcome(port: Int) -> Int32 {
        do {
            _ = try RawHTTPClient(port: port)
            return 0
        } catch {
            return (error as? Failure)?.code ?? -1
        }
    }

    /// One request on a fresh connection.
    static func get(
        _ path: String, port: Int, method: String = "GET", headers: [String: String] = [:], timeoutSeconds: Int = 10
    ) throws -> Response {
        try RawHTTPClient(port: port, timeoutSeconds: timeoutSeconds).request(method, path, headers: headers)
    }
}

/// Tools the tests run: promtool, gzip, the built metrics-app.
enum Tools {
    static func find(_ name: String) -> String? { TestTools.find(name) }

    static func run(_ executable: String, _ arguments: [String], input: [UInt8]) throws -> (Int32, [UInt8]) {
        try TestTools.run(executable, arguments, input: input)
    }

    /// The metrics-app binary built next to this test bundle.
    static var metricsApp: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("metrics-app").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/metrics-app").path
    }
}

/// Parses `name{labels} value` lines of a /metrics body.
func samples(_ text: String) -> [String: Double] { parseSamples(text) }
