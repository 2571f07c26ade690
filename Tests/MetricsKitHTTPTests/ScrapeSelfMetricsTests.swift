import Foundation
import MetricsKit
import MetricsKitTesting
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// metrics-app's scrape self-metrics and `name[]` filter over real HTTP, and a real Prometheus
/// scraping with `params: {name[]: …}`.
@Suite("Scrape self-metrics and name[]")
struct ScrapeSelfMetricsTests {
    @Test func metricsAppCountsItsScrapesAndServesTheNameFilter() throws {
        let app = try AppProcess([])
        _ = try RawHTTPClient.get("/metrics", port: app.port)
        _ = try RawHTTPClient.get("/metrics", port: app.port, headers: ["Accept-Encoding": "gzip"])
        let filtered = try RawHTTPClient.get(
            "/metrics?name[]=metricskit_scrape_requests_total&name%5B%5D=metricskit_scrape_requests_in_flight",
            port: app.port)
        #expect(filtered.status == 200)
        let exposition = try Exposition(filtered.text)
        #expect(
            exposition.families.map(\.name) == ["metricskit_scrape_requests_in_flight", "metricskit_scrape_requests_total"])
        #expect(exposition.value(of: "metricskit_scrape_requests_in_flight") == 1)
        let requests = "metricskit_scrape_requests_total"
        #expect(exposition.value(of: requests, labels: ["code": "200", "format": "text", "encoding": "identity"]) == 1)
        #expect(exposition.value(of: requests, labels: ["code": "200", "format": "text", "encoding": "gzip"]) == 1)
        // What promtool says about the whole body, the self-metrics in it.
        let all = try RawHTTPClient.get("/metrics", port: app.port).text
        #expect(try Exposition(all).family("metricskit_scrape_errors_total")?.samples.first?.labels == ["cause": "encoding"])
        let promtool = try #require(TestTools.find("promtool"), "install Debian's prometheus package (make deps-test)")
        let (status, output) = try TestTools.run(promtool, ["check", "metrics"], input: all)
        #expect(status == 0 && output.isEmpty, "\(output)")
    }

    /// README's metric table lists each self-metric with the type metrics-app exposes it as.
    @Test func readmeMetricTableListsTheSelfMetrics() throws {
        let app = try AppProcess([])
        let exposition = try Exposition(try RawHTTPClient.get("/metrics", port: app.port).text)
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for name in ScrapeMetrics.names {
            let type = try #require(exposition.family(name)?.type, "metrics-app does not expose \(name)")
            #expect(readme.contains("| `\(name)` | \(type) |"), "README's metric table has no row `\(name)` | \(type)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func prometheusScrapesOnlyTheFamiliesItsParamsName() throws {
        let app = try AppProcess([])
        guard
            let prometheus = try PrometheusProcess(
                scraping: app.port, flags: [],
                params: ["name[]": ["metricskit_scrape_requests_total", "process_cpu_seconds_total"]])
        else {
            Issue.record("prometheus not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`")
            return
        }
        // The scrapes before a scrape are in its body, so the second stored sample counts >= 1.
        let total = "sum(metricskit_scrape_requests_total{job=\"metrics-app\"})"
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, (try? prometheus.value(total)).flatMap({ $0 }) ?? 0 < 1 {
            usleep(500_000)
        }
        #expect((try prometheus.value(total) ?? 0) >= 1, "Prometheus stored no counted scrape")
        #expect(try prometheus.value("count(process_cpu_seconds_total{job=\"metrics-app\"})") == 1)
        // Families the params leave out were never sent.
        #expect(try prometheus.instant("http_requests_total{job=\"metrics-app\"}").isEmpty)
        #expect(try prometheus.instant("metricskit_scrape_requests_in_flight").isEmpty)
        #expect(try prometheus.value("up{job=\"metrics-app\"}") == 1)
    }
}
