import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real Prometheus (Debian's 2.42, exemplar storage on) scrapes the built metrics-app, which
/// must negotiate OpenMetrics; the exemplars the app attached to traced requests must come back
/// from `/api/v1/query_exemplars`.
@Suite("Prometheus end to end")
struct PrometheusExemplarTests {
    @Test(.timeLimit(.minutes(2)))
    func prometheusStoresTheExemplarsTheAppAttached() throws {
        let app = try AppProcess(["--delay-min", "1", "--delay-max", "5"])
        guard let prometheus = try PrometheusProcess(scraping: app.port, flags: ["--enable-feature=exemplar-storage"]) else {
            Issue.record("prometheus not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`")
            return
        }

        let traceID = String(format: "%032x", UInt64.random(in: 1...UInt64.max))
        let deadline = ContinuousClock.now + .seconds(60)
        var found: [String: String]?
        var up = false
        while ContinuousClock.now < deadline && (found == nil || !up) {
            // Keep traffic coming so every scrape sees fresh exemplars.
            for _ in 0..<5 {
                _ = try? RawHTTPClient.get("/", port: app.port, headers: ["traceparent": "00-\(traceID)-00f067aa0ba902b7-01"])
            }
            usleep(500_000)
            let now = Int(Date().timeIntervalSince1970)
            if let exemplars = try? prometheus.query(
                "/api/v1/query_exemplars?query=http_request_duration_seconds_bucket&start=\(now - 600)&end=\(now + 60)")
            {
                found = Self.exemplarLabels(in: exemplars).first { $0["trace_id"] == traceID }
            }
            up = prometheus.targetIsUp
        }
        #expect(up, "Prometheus never scraped metrics-app successfully")
        #expect(found != nil, "no exemplar with trace_id \(traceID) in Prometheus")
        #expect(found?["span_id"]?.count == 16)
    }

    /// The label sets of all exemplars in a `query_exemplars` answer.
    static func exemplarLabels(in answer: [String: Any]) -> [[String: String]] {
        guard let data = answer["data"] as? [[String: Any]] else { return [] }
        return data.flatMap { series in
            (series["exemplars"] as? [[String: Any]] ?? []).compactMap { $0["labels"] as? [String: String] }
        }
    }
}
