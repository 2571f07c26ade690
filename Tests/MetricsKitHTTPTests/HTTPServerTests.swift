import Dispatch
import Foundation
import MetricsKit
@testable import MetricsKitHTTP
import Synchronization
import Testing

/// A server on an ephemeral loopback port, with the demo's routes, in this process.
final class TestServer: Sendable {
    let registry = MetricRegistry()
    let metrics: HTTPMetrics
    let server: HTTPServer
    var port: Int { server.port }

    init(threads: Int = 2, delayMilliseconds: Int = 0, configure: (inout HTTPServer.Configuration) -> Void = { _ in }) throws {
        metrics = try HTTPMetrics(registry: registry)
        let router = Router()
        router.add("/health", instrumented: false) { _ in .text("OK\n") }
        router.addMetrics(registry)
        router.add("/") { _, responder in
            if delayMilliseconds == 0 { return responder.respond(.text("hello\n")) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delayMilliseconds)) {
                responder.respond(.text("hello\n"))
            }
        }
        router.add("/echo-method", methods: [.get, .post]) { request in .text(request.method.rawValue) }
        var configuration = HTTPServer.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.threads = threads
        configuration.metrics = metrics
        configure(&configuration)
        server = HTTPServer(configuration: configuration, router: router)
        try server.start()
    }

    deinit { server.shutdown(gracePeriod: .seconds(1)) }
}

/// Runs `body` on `count` threads of its own (clients that block need real threads, not the
/// Dispatch pool's two) and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(i)
            group.leave()
        }
    }
    group.wait()
}

@Suite("HTTP server over real sockets")
struct HTTPServerTests {
    /// The server threads read routes without locks, so a started server's router is frozen:
    /// a later add is refused and not served, and concurrent start/shutdown calls are safe.
    @Test func routerIsFrozenOnceTheServerStarts() throws {
        let router = Router()
        router.add("/early") { _ in .text("early\n") }
        #expect(!router.isFrozen)
        var configuration = HTTPServer.Configuration()
        configuration.host = "127.0.0.1"
        // A fixed port: a second daemon started by a racing call would fail to bind it.
        configuration.port = try AppProcess.freePort()
        configuration.threads = 2
        let server = HTTPServer(configuration: configuration, router: router)
        let failedStarts = Atomic<Int>(0)
        onThreads(4) { _ in  // one daemon, whichever call wins; the others return at once
            do { try server.start() } catch { failedStarts.wrappingAdd(1, ordering: .relaxed) }
        }
        #expect(failedStarts.load(ordering: .relaxed) == 0)
        #expect(router.isFrozen)
        router.add("/late") { _ in .text("late\n") }
        #expect(try RawHTTPClient.get("/early", port: server.port).text == "early\n")
        #expect(try RawHTTPClient.get("/late", port: server.port).status == 404)
        let results = Mutex<[Bool]>([])
        onThreads(3) { _ in
            let drained = server.shutdown(gracePeriod: .seconds(1))
            results.withLock { $0.append(drained) }
        }
        #expect(results.withLock { $0 } == [true, true, true])
        #expect(RawHTTPClient.connectOutcome(port: server.port) == ECONNREFUSED)
    }

    /// A stopped server starts again as new: keep-alive answers, no drain state left over.
    @Test func aStoppedServerStartsAgainAsNew() throws {
        let router = Router()
        router.add("/") { _ in .text("hi\n") }
        var configuration = HTTPServer.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let server = HTTPServer(configuration: configuration, router: router)
        try server.start()
        #expect(server.shutdown(gracePeriod: .seconds(1)))
        try server.start()
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        #expect(!server.isDraining)
        let response = try RawHTTPClient.get("/", port: server.port)
        #expect(response.text == "hi\n")
        #expect(response.headers["connection"]?.lowercased() != "close", "\(response.headers)")
    }

    @Test func countsAreExactAfterConcurrentRequests() throws {
        let app = try TestServer()
        let threads = 8
        let perThread = 50
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            guard let client = try? RawHTTPClient(port: app.port) else {
                failures.wrappingAdd(perThread, ordering: .relaxed)
                return
            }
            for _ in 0..<perThread where (try? client.request("GET", "/"))?.status != 200 {
                failures.wrappingAdd(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        // A request is recorded once its response is sent, which can be just after the client
        // read it: wait for the last one.
        var values: [String: Double] = [:]
        try waitFor("every request recorded") {
            values = samples((try? RawHTTPClient.get("/metrics", port: app.port).text) ?? "")
            return values["http_requests_in_flight"] == 0
        }
        #expect(values["http_requests_total{method=\"GET\",path=\"/\",status=\"200\"}"] == Double(threads * perThread))
        #expect(values["http_request_duration_seconds_count{method=\"GET\",path=\"/\"}"] == Double(threads * perThread))
        #expect(values["http_requests_in_flight"] == 0)
        // /metrics and /health are not counted.
        #expect(!values.keys.contains { $0.contains("path=\"/metrics\"") || $0.contains("path=\"/health\"") })
    }

    @Test func metricsBodyPassesPromtool() throws {
        let app = try TestServer()
        for path in ["/", "/", "/missing", "/echo-method"] { _ = try RawHTTPClient.get(path, port: app.port) }
        let response = try RawHTTPClient.get("/metrics", port: app.port)
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        guard let promtool = Tools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)")
            return
        }
        let (status, output) = try Tools.run(promtool, ["check", "metrics"], input: response.body)
        #expect(status == 0 && output.isEmpty, "\(String(decoding: output, as: UTF8.self))\n\(response.text)")
    }

    @Test func keepAliveReusesTheConnection() throws {
        let app = try TestServer()
        let client = try RawHTTPClient(port: app.port)
        for _ in 0..<5 {
            let response = try client.request("GET", "/health")
            #expect(response.status == 200)
            #expect(response.text == "OK\n")
            #expect(response.headers["connection"]?.lowercased() != "close")
        }
    }

    @Test func headAnswersWithoutBody() throws {
        let app = try TestServer()
        let client = try RawHTTPClient(port: app.port)
        let head = try client.request("HEAD", "/")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.headers["content-length"] == "6")
        // The connection is still in step: the next response is whole.
        #expect(try client.request("GET", "/").text == "hello\n")
    }

    @Test func unknownPathIs404AndWrongMethodIs405WithAllow() throws {
        let app = try TestServer()
        #expect(try RawHTTPClient.get("/nope", port: app.port).status == 404)
        let wrong = try RawHTTPClient.get("/", port: app.port, method: "DELETE")
        #expect(wrong.status == 405)
        #expect(wrong.headers["allow"] == "GET, HEAD")
        let echo = try RawHTTPClient.get("/echo-method", port: app.port, method: "POST")
        #expect(echo.text == "POST")
        let values = samples(try RawHTTPClient.get("/metrics", port: app.port).text)
        #expect(values["http_requests_total{method=\"GET\",path=\"unmatched\",status=\"404\"}"] == 1)
        #expect(values["http_requests_total{method=\"DELETE\",path=\"/\",status=\"405\"}"] == 1)
    }

    @Test func gzipBodyDecodesToThePlainBody() throws {
        let app = try TestServer()
        let plain = try RawHTTPClient.get("/metrics", port: app.port)
        let compressed = try RawHTTPClient.get("/metrics", port: app.port, headers: ["Accept-Encoding": "gzip"])
        #expect(plain.headers["content-encoding"] == nil)
        #expect(compressed.headers["content-encoding"] == "gzip")
        #expect(compressed.headers["vary"] == "Accept, Accept-Encoding")
        guard let gzip = Tools.find("gzip") else {
            Issue.record("gzip not found: apt-get install -y gzip")
            return
        }
        let (status, decoded) = try Tools.run(gzip, ["-dc"], input: compressed.body)
        #expect(status == 0)
        // Nothing instruments /metrics, so both scrapes see the same registry state.
        #expect(decoded == plain.body)
        let refused = try RawHTTPClient.get("/metrics", port: app.port, headers: ["Accept-Encoding": "gzip;q=0"])
        #expect(refused.headers["content-encoding"] == nil)
    }

    /// Before any request, each instrumented route's success series is there at 0 (an unasked
    /// replica reports 0 req/s to the HPA instead of nothing); the implied HEAD, uninstrumented
    /// routes and other statuses are not pre-created.
    @Test func instrumentedRoutesStartAtZero() throws {
        let app = try TestServer()
        let text = try RawHTTPClient.get("/metrics", port: app.port).text
        let series = Set(text.split(separator: "\n").filter { $0.hasPrefix("http_requests_total{") }.map(String.init))
        #expect(
            series == [
                "http_requests_total{method=\"GET\",path=\"/\",status=\"200\"} 0",
                "http_requests_total{method=\"GET\",path=\"/echo-method\",status=\"200\"} 0",
                "http_requests_total{method=\"POST\",path=\"/echo-method\",status=\"200\"} 0",
            ], "\(series)")
        _ = try RawHTTPClient.get("/", port: app.port)
        try waitFor("the request counted") {
            let values = samples((try? RawHTTPClient.get("/metrics", port: app.port).text) ?? "")
            return values["http_requests_total{method=\"GET\",path=\"/\",status=\"200\"}"] == 1
        }
    }

    @Test func randomPathsAndOddMethodsKeepSeriesBounded() throws {
        let app = try TestServer()
        let client = try RawHTTPClient(port: app.port)
        let methods = ["GET", "POST", "PUT", "FOO", "BREW", "PROPFIND", "get", "X-\(UInt32.random(in: 0...9999))"]
        for i in 0..<10_000 {
            let path = "/\(UInt64.random(in: 0...UInt64.max))/\(i)"
            let response = try client.request(methods[i % methods.count], path)
            #expect(response.status == 404, "\(methods[i % methods.count]) \(path)")
        }
        let text = try RawHTTPClient.get("/metrics", port: app.port).text
        let series = text.split(separator: "\n").filter {
            $0.hasPrefix("http_requests_total{") && $0.contains("path=\"unmatched\"")
        }
        #expect(series.count <= 4, "\(series)")
        #expect(!text.contains("FOO") && !text.contains("BREW"))
        #expect(text.contains("http_requests_total{method=\"OTHER\",path=\"unmatched\",status=\"404\"}"))
    }

    @Test func delayedResponsesHoldNoThread() throws {
        // One server thread, 40 requests whose handler keeps the responder and returns: all 40
        // are in flight at once only if a waiting request holds no thread (if it did, the
        // second would never be read). Then they are answered.
        let waiting = Mutex<[any HTTPResponder]>([])
        let router = Router()
        router.add("/") { _, responder in waiting.withLock { $0.append(responder) } }
        var configuration = HTTPServer.Configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.threads = 1
        let server = HTTPServer(configuration: configuration, router: router)
        try server.start()
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let ok = Atomic<Int>(0)
        let clients = DispatchGroup()
        for _ in 0..<40 {
            clients.enter()
            Thread.detachNewThread {
                if (try? RawHTTPClient.get("/", port: server.port))?.status == 200 { ok.wrappingAdd(1, ordering: .relaxed) }
                clients.leave()
            }
        }
        try waitFor("40 requests waiting at once on one thread") { waiting.withLock { $0.count } == 40 }
        #expect(server.inFlight == 40)
        for responder in waiting.withLock({ $0 }) { responder.respond(.text("later\n")) }
        clients.wait()
        #expect(ok.load(ordering: .relaxed) == 40)
    }

    @Test func shutdownFinishesDelayedRequests() throws {
        let app = try TestServer(delayMilliseconds: 400)
        let results = Mutex<[String]>([])
        let group = DispatchGroup()
        for _ in 0..<10 {
            group.enter()
            Thread.detachNewThread {
                let outcome: String
                do { outcome = "\(try RawHTTPClient.get("/", port: app.port).status)" } catch { outcome = "\(error)" }
                results.withLock { $0.append(outcome) }
                group.leave()
            }
        }
        try waitFor("10 requests in flight") { app.server.inFlight == 10 }
        #expect(app.server.shutdown(gracePeriod: .seconds(5)))
        group.wait()
        #expect(results.withLock { $0 } == Array(repeating: "200", count: 10))
    }

    @Test func shutdownPastItsDeadlineAnswers503() throws {
        let app = try TestServer(delayMilliseconds: 5_000)
        let status = Mutex<Int>(0)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            let answer = (try? RawHTTPClient.get("/", port: app.port))?.status ?? -1
            status.withLock { $0 = answer }
        }
        try waitFor("the request in flight") { app.server.inFlight == 1 }
        #expect(!app.server.shutdown(gracePeriod: .milliseconds(200)))
        group.wait()
        #expect(status.withLock { $0 } == 503)
    }

    @Test func oneCallServesARegistry() throws {
        let registry = MetricRegistry()
        try registry.counter("jobs_total", help: "Jobs.").increment()
        let server = try HTTPServer.metrics(registry, host: "127.0.0.1", port: 0)
        defer { server.shutdown(gracePeriod: .zero) }
        let response = try RawHTTPClient.get("/metrics", port: server.port)
        #expect(response.text.contains("\njobs_total 1\n"))
    }

    @Test func metricsServesProtobufWhenPrometheusAsksForIt() throws {
        let registry = MetricRegistry()
        try registry.counter("jobs_total", help: "Jobs.").increment()
        try registry.histogram("job_seconds", help: "Jobs.", buckets: [1]).observe(0.5)
        let server = try HTTPServer.metrics(registry, host: "127.0.0.1", port: 0)
        defer { server.shutdown(gracePeriod: .zero) }
        // What Prometheus 2.42 sends with --enable-feature=native-histograms.
        let accept =
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        let plain = try RawHTTPClient.get("/metrics", port: server.port, headers: ["Accept": accept])
        #expect(
            plain.headers["content-type"]
                == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
        var expected: [UInt8] = []
        registry.render(.protobuf, into: &expected)
        #expect(plain.body == expected)
        let compressed = try RawHTTPClient.get(
            "/metrics", port: server.port, headers: ["Accept": accept, "Accept-Encoding": "gzip"])
        #expect(compressed.headers["content-encoding"] == "gzip")
        guard let gzip = Tools.find("gzip") else {
            Issue.record("gzip not found: apt-get install -y gzip")
            return
        }
        let (status, decoded) = try Tools.run(gzip, ["-dc"], input: compressed.body)
        #expect(status == 0)
        #expect(decoded == expected)
    }

    @Test func metricsNegotiatesOpenMetricsAndShowsTraceExemplars() throws {
        let app = try TestServer()
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        #expect(try RawHTTPClient.get("/", port: app.port, headers: ["traceparent": traceparent]).status == 200)
        let prometheus2Accept =
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        let om = try RawHTTPClient.get("/metrics", port: app.port, headers: ["Accept": prometheus2Accept])
        #expect(om.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(om.text.hasSuffix("# EOF\n"))
        #expect(om.text.contains("# TYPE http_requests counter"))
        #expect(om.text.contains("trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\""))
        let text = try RawHTTPClient.get("/metrics", port: app.port)
        #expect(text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(!text.text.contains("trace_id"))
        // A malformed traceparent adds no exemplar and breaks nothing.
        #expect(try RawHTTPClient.get("/", port: app.port, headers: ["traceparent": "00-zz-00-01"]).status == 200)
    }

    @Test func traceparentParsing() {
        #expect(
            HTTPMetrics.traceID(fromTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(HTTPMetrics.traceID(fromTraceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
        #expect(HTTPMetrics.traceID(fromTraceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)
        #expect(HTTPMetrics.traceID(fromTraceparent: "garbage") == nil)
        // Fullwidth digits are Characters that isHexDigit accepts, not ASCII hex.
        #expect(HTTPMetrics.traceID(fromTraceparent: "00-４bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == nil)
        // Version 00 has exactly four fields; a later version may append more.
        #expect(HTTPMetrics.traceID(fromTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x") == nil)
        #expect(
            HTTPMetrics.traceID(fromTraceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
                == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(HTTPMetrics.newSpanID().count == 16)
    }
}
