import Dispatch
import Foundation
import MetricsKitHTTP
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Hostile clients")
struct HostileClientTests {
    @Test func garbageGets400OrAClosedConnection() throws {
        let app = try TestServer()
        let client = try RawHTTPClient(port: app.port)
        client.send([0x00, 0xFF, 0x13, 0x37] + Array("\r\n\r\nNOT HTTP AT ALL\r\n\r\n".utf8))
        if let response = try? client.readResponse() {
            #expect((400..<500).contains(response.status))
        }
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

    /// 500 connections that trickle a request a byte at a time; meanwhile a normal client still
    /// gets /health quickly, and the slow ones are cut off by the connection timeout.
    @Test func slowClientsDoNotStarveOthers() throws {
        let app = try TestServer(threads: 2) { $0.connectionTimeout = 2 }
        var slow: [RawHTTPClient] = []
        for _ in 0..<500 {
            let client = try RawHTTPClient(port: app.port)
            client.send("GET /health HTTP/1.1\r\n")
            slow.append(client)
        }
        var worst = Duration.zero
        for round in 0..<20 {
            for client in slow { client.send("X-Slow-\(round): y\r\n") }
            let start = ContinuousClock.now
            let response = try RawHTTPClient.get("/health", port: app.port)
            worst = max(worst, ContinuousClock.now - start)
            #expect(response.status == 200)
            usleep(50_000)
        }
        #expect(worst < .milliseconds(100), "slowest /health: \(worst)")
        // After the timeout the trickling connections are gone.
        usleep(3_500_000)
        let closed = slow.prefix(20).filter { $0.isClosedByServer() }.count
        #expect(closed == 20)
        #expect(try RawHTTPClient.get("/health", port: app.port).status == 200)
    }
}
