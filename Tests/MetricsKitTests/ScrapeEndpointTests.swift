import Foundation
import Synchronization
import TestSupport
import Testing

@testable import MetricsKit

/// The framework-neutral scrape answer: negotiation, gzip, HEAD, other methods, and many
/// scrapes at once. gzip bodies are decoded by the gzip tool, not by MetricsKit.
@Suite("ScrapeEndpoint")
struct ScrapeEndpointTests {
    struct Answer {
        var status: Int
        var headers: [String: String]
        var contentLength: Int
        var body: [UInt8]
    }

    static func registry() throws -> MetricRegistry {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let requests = try registry.counter("requests_total", help: "Requests.", labelNames: ["path"])
        for path in 0..<200 { requests.labels("/p\(path)").increment(by: path) }
        try registry.histogram("latency_seconds", help: "Latency.").observe(0.2)
        return registry
    }

    static func scrape(_ endpoint: ScrapeEndpoint, method: String = "GET", accept: String?, acceptEncoding: String?) -> Answer {
        endpoint.scrape(method: method, accept: accept, acceptEncoding: acceptEncoding) { response in
            var headers: [String: String] = [:]
            for (name, value) in response.headers { headers[name] = value }
            return Answer(status: response.status, headers: headers, contentLength: response.contentLength, body: Array(response.body))
        }
    }

    static func gunzip(_ body: [UInt8]) throws -> [UInt8]? {
        guard let gzip = TestTools.find("gzip") else {
            Issue.record("gzip not found: apt-get install -y gzip")
            return nil
        }
        let (status, decoded) = try TestTools.run(gzip, ["-dc"], input: body)
        #expect(status == 0)
        return decoded
    }

    @Test func negotiatesTheFormatAndNamesItsContentType() throws {
        let registry = try Self.registry()
        let endpoint = ScrapeEndpoint(registry: registry)
        let plain = Self.scrape(endpoint, accept: nil, acceptEncoding: nil)
        #expect(plain.status == 200)
        #expect(plain.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(plain.headers["Vary"] == "Accept, Accept-Encoding")
        #expect(plain.headers["Content-Encoding"] == nil)
        #expect(plain.body == Array(registry.render().utf8))
        #expect(plain.contentLength == plain.body.count)

        let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
            + "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
            + "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        // An OpenMetrics 0.0.1 request (Prometheus 2.x before 2.54 sends that version first).
        let old = "application/openmetrics-text; version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        for accept in [prometheus3, old] {
            let openMetrics = Self.scrape(endpoint, accept: accept, acceptEncoding: nil)
            #expect(openMetrics.headers["Content-Type"] == ExpositionFormat.openMetrics.contentType, "\(accept)")
            #expect(openMetrics.body == Array(registry.render(.openMetrics).utf8))
            #expect(String(decoding: openMetrics.body, as: UTF8.self).hasSuffix("# EOF\n"))
        }
    }

    @Test func gzipWhenAcceptedAndDecodesToThePlainBody() throws {
        let registry = try Self.registry()
        let endpoint = ScrapeEndpoint(registry: registry)
        let compressed = Self.scrape(endpoint, accept: nil, acceptEncoding: "gzip")
        #expect(compressed.headers["Content-Encoding"] == "gzip")
        #expect(compressed.body.count < registry.render().utf8.count / 3)
        #expect(try Self.gunzip(compressed.body) == Array(registry.render().utf8))
        for refused in ["gzip;q=0", "identity", "br"] {
            let answer = Self.scrape(endpoint, accept: nil, acceptEncoding: refused)
            #expect(answer.headers["Content-Encoding"] == nil, "\(refused)")
            #expect(answer.body == Array(registry.render().utf8))
        }
        // The buffers and zlib's state are reused (reset) scrape after scrape.
        for _ in 0..<3 {
            let again = Self.scrape(endpoint, accept: nil, acceptEncoding: "deflate, *;q=0.5")
            #expect(again.headers["Content-Encoding"] == "gzip")
            #expect(try Self.gunzip(again.body) == Array(registry.render().utf8))
        }
    }

    @Test func headGetsTheHeadersOfGetAndNoBody() throws {
        let endpoint = ScrapeEndpoint(registry: try Self.registry())
        for encoding in [nil, "gzip"] {
            let get = Self.scrape(endpoint, accept: nil, acceptEncoding: encoding)
            let head = Self.scrape(endpoint, method: "HEAD", accept: nil, acceptEncoding: encoding)
            #expect(head.status == 200)
            #expect(head.headers == get.headers)
            #expect(head.body.isEmpty)
            #expect(head.contentLength == get.body.count)
        }
    }

    @Test func otherMethodsGet405WithAllow() throws {
        let endpoint = ScrapeEndpoint(registry: try Self.registry())
        for method in ["POST", "DELETE", "get"] {
            let answer = Self.scrape(endpoint, method: method, accept: nil, acceptEncoding: nil)
            #expect(answer.status == 405)
            #expect(answer.headers["Allow"] == "GET, HEAD")
            #expect(answer.body.isEmpty)
        }
    }

    /// Each concurrent scrape has its own buffers: no body is torn or mixed with another format.
    @Test func concurrentScrapesEachGetAWholeBody() throws {
        let registry = try Self.registry()
        let endpoint = ScrapeEndpoint(registry: registry)
        let expected = [Array(registry.render().utf8), Array(registry.render(.openMetrics).utf8)]
        let compressed = Mutex<[(format: Int, body: [UInt8])]>([])
        let wrong = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let accept = i % 2 == 0 ? nil : "application/openmetrics-text;version=1.0.0"
            let answer = Self.scrape(endpoint, accept: accept, acceptEncoding: i % 4 < 2 ? nil : "gzip")
            if i % 4 < 2 {
                if answer.body != expected[i % 2] { wrong.add(1, ordering: .relaxed) }
            } else {
                compressed.withLock { $0.append((i % 2, answer.body)) }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        let gzipped = compressed.withLock { $0 }
        #expect(gzipped.count == 32 && Set(gzipped.map(\.format)) == [0, 1])
        for (format, body) in gzipped { #expect(try Self.gunzip(body) == expected[format]) }
    }

    @Test func theRespondClosuresTypedErrorPassesThrough() throws {
        struct Refused: Error {}
        let endpoint = ScrapeEndpoint(registry: try Self.registry())
        #expect(throws: Refused.self) {
            try endpoint.scrape(accept: nil, acceptEncoding: nil) { (_) throws(Refused) in throw Refused() }
        }
        // The buffers went back to the endpoint: the next scrape works.
        #expect(Self.scrape(endpoint, accept: nil, acceptEncoding: nil).status == 200)
    }
}
