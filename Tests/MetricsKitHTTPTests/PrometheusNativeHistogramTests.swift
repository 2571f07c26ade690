import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real Prometheus (Debian's 2.42) with `--enable-feature=native-histograms` scrapes the built
/// metrics-app, which must answer in protobuf; the latency histogram must be stored as a native
/// histogram whose count and sum equal what the app counted, and whose p95 lies within one
/// bucket of the latency the test drove.
@Suite("Prometheus native histograms end to end")
struct PrometheusNativeHistogramTests {
    @Test(.timeLimit(.minutes(2)))
    func prometheusStoresTheLatencyAsANativeHistogram() throws {
        // Every request to / sleeps 50 ms: the latency the test drives.
        let app = try AppProcess(["--delay-min", "50", "--delay-max", "50"])
        guard let prometheus = try PrometheusProcess(scraping: app.port, flags: ["--enable-feature=native-histograms"]) else {
            Issue.record("prometheus not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`")
            return
        }
        let series = #"http_request_duration_seconds{method="GET",path="/"}"#
        // Traffic for a few scrapes, so rate() has points to work with.
        var driven = 0
        var seen: [Double] = []  // latencies as the client saw them (the server's, plus transport)
        let trafficEnd = ContinuousClock.now + .seconds(6)
        while ContinuousClock.now < trafficEnd {
            let start = ContinuousClock.now
            if (try? RawHTTPClient.get("/", port: app.port))?.status == 200 {
                driven += 1
                let (seconds, attoseconds) = (ContinuousClock.now - start).components
                seen.append(Double(seconds) + Double(attoseconds) * 1e-18)
            }
        }
        #expect(driven >= 20, "only \(driven) requests answered")
        // What the app itself counted (text format: its _count and _sum), once the last request
        // is recorded: that happens when its response has been sent, which can be just after the
        // client read it.
        var text = ""
        try waitFor("every request recorded") {
            text = (try? RawHTTPClient.get("/metrics", port: app.port).text) ?? ""
            return parseSamples(text)["http_requests_in_flight"] == 0
        }
        let own = parseSamples(text)
        let ownCount = own[#"http_request_duration_seconds_count{method="GET",path="/"}"#]
        let ownSum = own[#"http_request_duration_seconds_sum{method="GET",path="/"}"#]
        #expect(ownCount == Double(driven))

        // Wait until Prometheus has scraped the final state.
        let deadline = ContinuousClock.now + .seconds(30)
        var count: Double?
        while ContinuousClock.now < deadline {
            count = try? prometheus.value("histogram_count(\(series))")
            if count == Double(driven) { break }
            usleep(500_000)
        }
        #expect(count == Double(driven), "histogram_count in Prometheus: \(String(describing: count)), driven \(driven)")
        // Stored as a native histogram: the raw series comes back as a histogram, not a value.
        let raw = try prometheus.instant(series)
        #expect(raw.first?["histogram"] != nil, "not a native histogram: \(raw)")
        #expect(try prometheus.value("histogram_sum(\(series))") == ownSum)

        let p95 = try #require(try prometheus.value("histogram_quantile(0.95, rate(\(series)[30s]))"))
        // Schema 3: a bucket spans a factor of 2^(1/8). The server-side latency is 50 ms of sleep
        // plus its serving time, never more than the client saw: on a quiet machine all of it
        // within a few ms of 50 ms, on a busy one with stragglers up to the client's slowest.
        // The estimate must lie within one bucket of that.
        let width = pow(2, 1.0 / 8)
        let slowest = seen.max() ?? 0
        #expect(
            p95 >= 0.050 / width && p95 <= max(0.052, slowest) * width,
            "p95 \(p95) s, driven 50 ms, slowest request the client saw \(slowest) s; stored: \(raw)")
    }
}
