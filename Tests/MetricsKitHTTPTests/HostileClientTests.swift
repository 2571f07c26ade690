import Dispatch
import Foundation
import MetricsKit
import MetricsKitHTTP
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Hostile clients")
struct HostileClientTests {
    /// Bytes that are not HTTP get a 400 that arrives, then an orderly close.
    @Test func garbageGets400AndAnOrderlyClose() throws {
        let app = try TestServer()
        let (bytes, ending) = try sendThenRead(
            [0x00, 0xFF, 0x13, 0x37] + Array("\r\n\r\nNOT HTTP AT ALL\r\n\r\n".utf8), port: app.port)
        #expect(String(decoding: bytes.prefix(12), as: UTF8.self) == "HTTP/1.1 400", "\(String(decoding: bytes, as: UTF8.self))")
        #expect(ending == .closed)
        #expect(try RawHTTPClient.get("/health", port: app.port).status == 200)
    }

    @Test func overLongHeaderGets431() throws {
        let app = try TestServer()
        let huge = String(repeating: "a", count: 200_000)
        let response = try RawHTTPClient.get("/health", port: app.port, headers: ["X-Huge": huge])
        #expect(response.status == 431)
        #expect(try RawHTTPClient.get("/health", port: app.port).status == 200)
    }

    @Test func tenMebibyteBodyGets413() throws {
        let app = try TestServer()
        let client = try RawHTTPClient(port: app.port)
        client.send("POST /echo-method HTTP/1.1\r\nHost: x\r\nContent-Length: \(10 << 20)\r\n\r\n")
        client.send([UInt8](repeating: 0x41, count: 1 << 20))  // the server answers before the rest
        let response = try client.readResponse()
        #expect(response.status == 413)
        // A chunked body (no declared length) is counted as it arrives.
        let chunked = try RawHTTPClient(port: app.port)
        chunked.send("POST /echo-method HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = [UInt8](repeating: 0x42, count: 1 << 20)
        for _ in 0..<3 { chunked.send(Array("100000\r\n".utf8) + chunk + Array("\r\n".utf8)) }
        chunked.send("0\r\n\r\n")
        #expect(try chunked.readResponse().status == 413)
        #expect(try RawHTTPClient.get("/health", port: app.port).status == 200)
    }

    // MARK: Slow clients (issue 9, defect 1)

    /// Connections that trickle their headers a byte at a time never go idle, so the idle
    /// timeout (60 s here) never closes them; the header deadline does.
    @Test func tricklingHeadersAreCutOffAtTheHeaderDeadline() throws {
        let app = try TestServer { $0.headerTimeout = 2; $0.connectionTimeout = 60 }
        let slow = try (0..<20).map { _ in try RawHTTPClient(port: app.port) }
        for client in slow { client.send("GET /health HTTP/1.1\r\n") }
        let start = ContinuousClock.now
        let open = trickle(slow, until: start + .seconds(15))
        #expect(open == 0, "\(open) of 20 trickling connections still open after 15 s")
        #expect(ContinuousClock.now - start >= .seconds(1.5))
        #expect(try RawHTTPClient.get("/health", port: app.port).status == 200)
    }

    @Test func tricklingBodyIsCutOffAtTheBodyDeadline() throws {
        let app = try TestServer { $0.bodyTimeout = 2; $0.connectionTimeout = 60 }
        let slow = try (0..<5).map { _ in try RawHTTPClient(port: app.port) }
        for client in slow { client.send("POST /echo-method HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n") }
        let open = trickle(slow, until: ContinuousClock.now + .seconds(15))
        #expect(open == 0, "\(open) of 5 trickling bodies still open after 15 s")
    }

    /// 500 connections (from ten client addresses) trickle their headers while a normal client
    /// asks for /health: every probe is answered within 4 s, half the 8 s header deadline (a
    /// server whose threads the tricklers held would answer only once the deadline freed them);
    /// then the header deadline closes all of them. Latency itself is measured by bench-http.
    @Test func fiveHundredTricklersLeaveHealthAnsweredAndAreClosed() throws {
        let app = try TestServer(threads: 2) { $0.headerTimeout = 8; $0.connectionTimeout = 60 }
        var slow: [RawHTTPClient] = []
        for i in 0..<500 {
            let client = try RawHTTPClient(port: app.port, sourceAddress: "127.0.0.\(2 + i % 10)")
            client.send("GET /health HTTP/1.1\r\n")
            slow.append(client)
        }
        let tricklers = slow
        let remaining = Mutex(500)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            remaining.withLock { $0 = trickle(tricklers, until: ContinuousClock.now + .seconds(20)) }
            done.signal()
        }
        for _ in 0..<50 {
            #expect(try RawHTTPClient.get("/health", port: app.port, timeoutSeconds: 4).status == 200)
        }
        done.wait()
        #expect(remaining.withLock { $0 } == 0, "trickling connections still open after 20 s")
    }

    /// One client address opening more sockets than the whole connection limit gets only its
    /// share; another client (a probe) still gets in.
    @Test func oneClientAddressCannotTakeEveryConnection() throws {
        let app = try TestServer {
            $0.maxConnections = 50
            $0.maxConnectionsPerIP = 12
            $0.connectionTimeout = 60
            $0.headerTimeout = 60
        }
        let slow = openUnfinishedRequests(60, port: app.port, from: "127.0.0.2")
        #expect(healthProbes(6, port: app.port) == 6)
        withExtendedLifetime(slow) {}
    }

    // MARK: Request smuggling (defect 3)

    /// Each request makes its length ambiguous, and a second request follows on the same
    /// connection: the first gets 400, the connection closes, the second is never answered.
    @Test(arguments: [
        "POST /echo-method HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 31\r\n\r\n",
        "POST /echo-method HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /echo-method HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n",
        "POST /echo-method HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /echo-method HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST /echo-method HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /health HTTP/1.1\r\n\r\n",
    ])
    func ambiguousRequestGets400AndNothingAfterIt(request: String) throws {
        let app = try TestServer()
        let client = try RawHTTPClient(port: app.port, timeoutSeconds: 5)
        client.send(request + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 400, "\(request.debugDescription)")
        let (rest, ending) = client.readToEnd(timeout: .seconds(5))
        #expect(ending == .closed, "\(request.debugDescription)")
        #expect(!String(decoding: rest, as: UTF8.self).contains("HTTP/1."), "answered after the bad request")
        let values = samples(try RawHTTPClient.get("/metrics", port: app.port).text)
        let refused = values.filter { $0.key.hasPrefix("http_requests_total{") && $0.key.contains("path=\"unmatched\",status=\"400\"") }
        #expect(refused.values.reduce(0, +) == 1, "\(values)")
    }

    // MARK: Control bytes in the path (defect 5)

    @Test(arguments: ["/health%00.css", "/metrics%00.css", "/health%00x", "/health%0a", "/health%1F", "/health%7f"])
    func controlByteInPathGets400(path: String) throws {
        let app = try TestServer()
        #expect(try RawHTTPClient.get(path, port: app.port).status == 400)
    }

    @Test func encodedOrdinaryBytesStillRoute() throws {
        let app = try TestServer()
        #expect(try RawHTTPClient.get("/%68ealth", port: app.port).status == 200)
        #expect(try RawHTTPClient.get("/health?x=%00", port: app.port).status == 200)  // the query is not the path
    }

    // MARK: Error answers arrive, and are counted (defect 8)

    /// A 2 MB body without `Expect: 100-continue`: the 413 comes before the body is in; the
    /// server reads and discards the rest before closing, so the client sees the 413 and then an
    /// orderly close, not a reset.
    @Test func oversizedBodyGets413AndAnOrderlyClose() throws {
        let app = try TestServer()
        let body = [UInt8](repeating: 0x41, count: 2 << 20)
        let (bytes, ending) = try sendThenRead(
            Array("POST /echo-method HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body,
            port: app.port)
        #expect(String(decoding: bytes.prefix(12), as: UTF8.self) == "HTTP/1.1 413")
        #expect(ending == .closed)
    }

    @Test func headersTooLargeGet431AndAnOrderlyClose() throws {
        let app = try TestServer()
        let request = "GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: \(String(repeating: "a", count: 200_000))\r\n\r\n"
        let (bytes, ending) = try sendThenRead(Array(request.utf8), port: app.port)
        #expect(String(decoding: bytes.prefix(12), as: UTF8.self) == "HTTP/1.1 431")
        #expect(ending == .closed)
    }

    @Test func answersOfTheHTTPLayerAreCounted() throws {
        let app = try TestServer()
        let requests = [
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: \(String(repeating: "a", count: 40_000))\r\n\r\n",  // 431
            "GET /\(String(repeating: "a", count: 40_000)) HTTP/1.1\r\nHost: x\r\n\r\n",  // 414
            "GET /health HTTP/2.0\r\nHost: x\r\n\r\n",  // 505
            "GET /health HTTP/1.1\r\n\r\n",  // 400, no Host
        ]
        var statuses: [Int] = []
        for request in requests {
            let (bytes, _) = try sendThenRead(Array(request.utf8), port: app.port)
            statuses.append(Int(String(decoding: bytes.dropFirst(9).prefix(3), as: UTF8.self)) ?? -1)
        }
        #expect(statuses == [431, 414, 505, 400])
        let values = samples(try RawHTTPClient.get("/metrics", port: app.port).text)
        for status in statuses {
            #expect(
                values["http_requests_total{method=\"OTHER\",path=\"unmatched\",status=\"\(status)\"}"] == 1,
                "status \(status) not counted: \(values.keys.filter { $0.hasPrefix("http_requests_total") })")
        }
    }

    /// One q-value rule for Accept and Accept-Encoding: a malformed q means "not acceptable".
    @Test func malformedQualityRefusesGzip() throws {
        let app = try TestServer()
        for (header, gzip) in [("gzip;q=abc", false), ("gzip;q=0", false), ("gzip; Q=0.5", true), ("gzip", true)] {
            let response = try RawHTTPClient.get("/metrics", port: app.port, headers: ["Accept-Encoding": header])
            #expect((response.headers["content-encoding"] == "gzip") == gzip, "Accept-Encoding: \(header)")
        }
    }

    // MARK: Drain and port sharing (defects 2 and 4)

    /// While a request is in flight, shutdown refuses new connections at once (before, the
    /// kernel kept accepting them into the backlog until the server stopped).
    @Test func shutdownRefusesNewConnectionsAtOnce() throws {
        // A delay well past the refusal deadline below: the server is still draining then
        // (before the fix, connections were refused only once it had stopped).
        let app = try TestServer(delayMilliseconds: 8000)
        let status = Mutex(0)
        let request = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let answer = (try? RawHTTPClient.get("/", port: app.port))?.status ?? -1
            status.withLock { $0 = answer }
            request.signal()
        }
        try waitFor("the request to be in flight") { app.server.inFlight == 1 }
        Thread.detachNewThread { app.server.shutdown(gracePeriod: .seconds(10)) }
        try waitFor("the server to drain") { app.server.isDraining }
        try waitFor("a refused connection", within: .seconds(3)) {
            RawHTTPClient.connectOutcome(port: app.port) == ECONNREFUSED
        }
        request.wait()
        #expect(status.withLock { $0 } == 200)
    }

    @Test func secondServerOnTheSamePortFailsWithAddressInUse() throws {
        let first = try TestServer()
        var configuration = HTTPServer.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = first.port
        let second = HTTPServer(configuration: configuration, router: Router())
        let error = #expect(throws: HTTPServerError.self) { try second.start() }
        #expect(error?.description.contains("address in use") == true, "\(String(describing: error))")
        second.shutdown(gracePeriod: .zero)
        #expect(try RawHTTPClient.get("/health", port: first.port).status == 200)
    }
}

/// Sends one header byte to each open connection every 250 ms until every one is closed by the
/// server or `deadline` passes; returns how many are still open.
func trickle(_ clients: [RawHTTPClient], until deadline: ContinuousClock.Instant) -> Int {
    var open = Array(clients.indices)
    while !open.isEmpty && ContinuousClock.now < deadline {
        open.removeAll { !clients[$0].send("X") || clients[$0].closedByServer(within: .zero) }
        usleep(250_000)
    }
    return open.count
}

/// Waits for `condition`, checking every 10 ms, failing after `within`.
func waitFor(_ what: String, within timeout: Duration = .seconds(10), _ condition: () -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw RawHTTPClient.Failure(description: "timed out waiting for \(what)") }
        usleep(10_000)
    }
}

/// Opens `count` connections (from another loopback address when given) that start a request
/// and do not finish it.
func openUnfinishedRequests(_ count: Int, port: Int, from source: String? = nil) -> [RawHTTPClient] {
    var clients: [RawHTTPClient] = []
    for _ in 0..<count {
        guard let client = try? RawHTTPClient(port: port, sourceAddress: source) else { continue }
        client.send("GET /health HTTP/1.1\r\n")
        clients.append(client)
    }
    return clients
}

/// How many of `count` `/health` probes, each on a new connection from 127.0.0.1 with a 3 s
/// timeout, get 200; `between` runs before each.
func healthProbes(_ count: Int, port: Int, between: () -> Void = {}) -> Int {
    (0..<count).filter { _ in
        between()
        let probe = try? RawHTTPClient(port: port, timeoutSeconds: 3)
        return (try? probe?.request("GET", "/health"))?.status == 200
    }.count
}

/// Sends all of `bytes` on a new connection, as a plain client does, then reads everything the
/// server answers until it closes. A server that answered early and closed with the rest unread
/// resets the connection, and the client may never see the answer.
func sendThenRead(_ bytes: [UInt8], port: Int) throws -> (bytes: [UInt8], ending: RawHTTPClient.Ending) {
    let client = try RawHTTPClient(port: port)
    client.send(bytes)
    return client.readToEnd(timeout: .seconds(10))
}
