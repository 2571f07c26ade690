// One HTTP/1.1 request per connection over a POSIX socket, for the Pushgateway client.
//
// Why not URLSession: on Linux it lives in FoundationNetworking, which links libcurl (and
// through it TLS, HTTP/2 and compression libraries) into every batch job that pushes, and
// MetricsKit promises no dependencies beyond the C library and zlib. A push is one small
// request to a known server: connect, send the request with a Content-Length, read the answer
// until the server closes (`Connection: close`). That is a page of code, every byte of it
// visible, with one deadline covering connect, send and receive (name lookup is getaddrinfo's,
// with the resolver's own timeouts). Plain `http://` only: a gateway behind TLS is reached
// through a local proxy or sidecar.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the server answered.
struct PlainHTTPResponse {
    var status: Int
    var reason: String
    var body: [UInt8]
}

/// Why a request got no answer.
enum PlainHTTPFailure: Error {
    /// Name lookup, socket or connect failed (with what failed, in words).
    case connection(String)
    /// The deadline passed (with the step that was waiting).
    case timedOut(String)
    /// The server's answer was not HTTP/1.x.
    case malformed(String)
}

enum PlainHTTPClient {
    /// The largest answer read (1 MiB): the Pushgateway answers with a status and a short body.
    static let maxAnswerBytes = 1 << 20

    /// Sends one request and reads the whole answer, all within `timeout`.
    static func exchange(
        method: String, host: String, port: Int, path: String, headers: [(String, String)], body: [UInt8],
        timeout: Duration
    ) throws(PlainHTTPFailure) -> PlainHTTPResponse {
        let deadline = ContinuousClock.now + timeout
        let fd = try openConnection(host: host, port: port, deadline: deadline)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(hostHeader(host, port))\r\n"
        head += "Connection: close\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        do {
            try write(Array(head.utf8) + body, to: fd, deadline: deadline)
        } catch .connection(let what) {
            // A server may answer (413, 401) and close before it read the whole body: its
            // answer, when there is one, says more than the broken pipe.
            guard let early = try? readToEnd(fd, deadline: deadline), !early.isEmpty else { throw .connection(what) }
            return try parse(early)
        }
        return try parse(try readToEnd(fd, deadline: deadline))
    }

    private static func hostHeader(_ host: String, _ port: Int) -> String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// Milliseconds left until `deadline` (at least 0), for poll().
    private static func remaining(_ deadline: ContinuousClock.Instant) -> Int32 {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    /// Waits until `fd` is ready for `events`; false when the deadline passed.
    private static func wait(_ fd: Int32, _ events: Int32, deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = remaining(deadline)
            if left == 0 { return false }
            var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ready = poll(&entry, 1, left)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return true }  // let the next call report the error
        }
    }

    private static func openConnection(host: String, port: Int, deadline: ContinuousClock.Instant) throws(PlainHTTPFailure)
        -> Int32
    {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .connection("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address for \(host)"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry?.pointee {
            entry = address.ai_next
            let fd = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
            guard fd >= 0 else {
                lastError = "socket(): \(String(cString: strerror(errno)))"
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            #if canImport(Darwin)
                var on: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
            #endif
            if connect(fd, address.ai_addr, address.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else {
                lastError = "connect to \(hostHeader(host, port)): \(String(cString: strerror(errno)))"
                close(fd)
                continue
            }
            guard wait(fd, Int32(POLLOUT), deadline: deadline) else {
                close(fd)
                throw .timedOut("connecting to \(hostHeader(host, port))")
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code == 0 { return fd }
            lastError = "connect to \(hostHeader(host, port)): \(String(cString: strerror(code)))"
            close(fd)
        }
        throw .connection(lastError)
    }

    private static func write(_ bytes: [UInt8], to fd: Int32, deadline: ContinuousClock.Instant)
        throws(PlainHTTPFailure)
    {
        var sent = 0
        while sent < bytes.count {
            #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL)
            #else
                let flags: Int32 = 0
            #endif
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, flags) }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                guard wait(fd, Int32(POLLOUT), deadline: deadline) else { throw .timedOut("sending the request") }
            } else {
                throw .connection("sending the request: \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func readToEnd(_ fd: Int32, deadline: ContinuousClock.Instant) throws(PlainHTTPFailure)
        -> [UInt8]
    {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                data += buffer[0..<n]
                // A gateway's answer is a status and a short message; a peer that streams more
                // must not run the batch job out of memory.
                guard data.count <= maxAnswerBytes else {
                    throw .malformed("the answer is larger than \(maxAnswerBytes) bytes")
                }
            } else if n == 0 {
                return data
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                guard wait(fd, Int32(POLLIN), deadline: deadline) else { throw .timedOut("waiting for the answer") }
            } else {
                // A reset after a complete answer (the server closed with our body unread) still
                // leaves the answer readable above; a reset before it is a failure.
                if !data.isEmpty { return data }
                throw .connection("reading the answer: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Parses `HTTP/1.x <status> <reason>`, the headers, and the body (by Content-Length,
    /// chunked, or up to the end of the connection).
    static func parse(_ data: [UInt8]) throws(PlainHTTPFailure) -> PlainHTTPResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = data.firstRange(of: separator) else {
            throw .malformed("the answer ended before its headers did (\(data.count) bytes)")
        }
        let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self)
            .split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines[0].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw .malformed("not an HTTP/1.x status line: \(lines[0].prefix(80))")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingPrefix(while: { $0 == " " || $0 == "\t" }).description
        }
        var body = Array(data[end.upperBound...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try dechunk(body)
        } else if let length = headers["content-length"].flatMap({ Int($0) }), length >= 0, length <= body.count {
            body = Array(body[..<length])
        }
        return PlainHTTPResponse(
            status: status, reason: statusLine.count > 2 ? String(statusLine[2]) : "", body: body)
    }

    private static func dechunk(_ data: [UInt8]) throws(PlainHTTPFailure) -> [UInt8] {
        var body: [UInt8] = []
        var position = 0
        let crlf: [UInt8] = [13, 10]
        while let lineEnd = data[position...].firstRange(of: crlf) {
            let sizeText = String(decoding: data[position..<lineEnd.lowerBound], as: UTF8.self)
                .split(separator: ";")[...].first.map(String.init) ?? ""
            // A sign or an overflowing size is as malformed as a non-hex one (no trap on a bad answer).
            guard let size = Int(sizeText.trimmingPrefix(while: { $0 == " " }), radix: 16), size >= 0 else {
                throw .malformed("bad chunk size \"\(sizeText.prefix(20))\"")
            }
            if size == 0 { return body }
            let start = lineEnd.upperBound
            guard size <= data.count - start else { throw .malformed("a chunk ended early") }
            body += data[start..<(start + size)]
            position = min(start + size + 2, data.count)
        }
        throw .malformed("the chunked body ended without its last chunk")
    }
}
