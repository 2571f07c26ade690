import Foundation
import MetricsKit
import MetricsKitTesting
import Testing
import TestSupport

/// ScrapeEndpoint's self-metrics and its `name[]` filter, read back with MetricsKitTesting and
/// checked by promtool and the strict OpenMetrics parser.
@Suite struct ScrapeMetricsTests {
    func shop() throws -> (MetricRegistry, ScrapeEndpoint) {
        let registry = MetricRegistry()
        try registry.counter("shop_orders_total", help: "Orders.").increment(by: 2)
        try registry.gauge("shop_queue_depth", help: "Queue.").set(4)
        try registry.histogram("shop_checkout_seconds", help: "Checkout.", buckets: [1]).observe(0.5)
        return (registry, ScrapeEndpoint(registry: registry, metrics: try ScrapeMetrics(registry: registry)))
    }

    func scrape(_ endpoint: ScrapeEndpoint, method: String = "GET", accept: String? = nil, gzip: Bool = false,
                query: String? = nil) -> (status: Int, body: String) {
        endpoint.scrape(method: method, accept: accept, acceptEncoding: gzip ? "gzip" : nil, query: query) {
            ($0.status, String(decoding: $0.body, as: UTF8.self))
        }
    }

    @Test func countsScrapesByStatusFormatAndEncoding() throws {
        let (registry, endpoint) = try shop()
        let requests = "metricskit_scrape_requests_total"
        // Created at 0 before any scrape, for each format and encoding.
        #expect(try registry.value(of: requests, labels: ["code": "200", "format": "protobuf", "encoding": "gzip"]) == 0)
        _ = scrape(endpoint)
        _ = scrape(endpoint)
        _ = scrape(endpoint, accept: "application/openmetrics-text; version=1.0.0", gzip: true)
        _ = scrape(endpoint, method: "HEAD")
        #expect(scrape(endpoint, method: "POST").status == 405)
        #expect(try registry.value(of: requests, labels: ["code": "200", "format": "text", "encoding": "identity"]) == 3)
        #expect(try registry.value(of: requests, labels: ["code": "200", "format": "openmetrics", "encoding": "gzip"]) == 1)
        #expect(try registry.value(of: requests, labels: ["code": "405", "format": "none", "encoding": "identity"]) == 1)
        #expect(try registry.value(of: "metricskit_scrape_errors_total", labels: ["cause": "encoding"]) == 0)
        #expect(try registry.value(of: "metricskit_scrape_requests_in_flight") == 0)
        #expect(try registry.seriesCount(requests) == 7)
    }

    @Test func aScrapeSeesItselfInFlightAndTheScrapesBeforeIt() throws {
        let (_, endpoint) = try shop()
        _ = scrape(endpoint)
        let body = try Exposition(scrape(endpoint).body)
        #expect(body.value(of: "metricskit_scrape_requests_in_flight") == 1)
        #expect(
            body.value(of: "metricskit_scrape_requests_total", labels: ["code": "200", "format": "text", "encoding": "identity"])
                == 1)
    }

    @Test func theSelfMetricsPassPromtoolAndTheOpenMetricsParser() throws {
        let (registry, endpoint) = try shop()
        _ = scrape(endpoint, gzip: true)
        let text = scrape(endpoint).body
        #expect(try Exposition(text).lint() == [])
        let promtool = try #require(TestTools.find("promtool"), "install Debian's prometheus package (make deps-test)")
        let (status, output) = try TestTools.run(promtool, ["check", "metrics"], input: text)
        #expect(status == 0 && output.isEmpty, "\(output)")
        let families = try ConformanceTests.parse("parse_openmetrics.py", registry.render(.openMetrics)) ?? []
        let names = Set(families.compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: ["metricskit_scrape_requests", "metricskit_scrape_requests_in_flight", "metricskit_scrape_errors"]))
    }

    @Test func nameParametersSelectFamilies() throws {
        let (_, endpoint) = try shop()
        // The registered name, or a counter's name without _total; percent-encoded keys too.
        let query = "name[]=shop_queue_depth&name%5B%5D=shop_orders&other=1"
        let body = try Exposition(scrape(endpoint, query: query).body)
        #expect(body.families.map(\.name) == ["shop_orders_total", "shop_queue_depth"])
        #expect(body.value(of: "shop_orders_total") == 2)
        // Without name[], everything.
        #expect(try Exposition(scrape(endpoint, query: "other=1").body).family("shop_checkout_seconds") != nil)
        // A name that matches nothing: an empty body (OpenMetrics: # EOF alone).
        #expect(scrape(endpoint, query: "name[]=missing").body == "")
        let openMetrics = scrape(endpoint, accept: "application/openmetrics-text; version=1.0.0", query: "name[]=missing")
        #expect(openMetrics.body == "# EOF\n")
    }

    @Test func aFilteredOpenMetricsBodyParsesStrictly() throws {
        let (_, endpoint) = try shop()
        let body = scrape(
            endpoint, accept: "application/openmetrics-text; version=1.0.0",
            query: "name[]=shop_checkout_seconds&name[]=shop_orders_total").body
        let families = try #require(try ConformanceTests.parse("parse_openmetrics.py", body))
        #expect(families.compactMap { $0["name"] as? String }.sorted() == ["shop_checkout_seconds", "shop_orders"])
    }

    @Test func nameFilterParsesQueries() {
        #expect(NameFilter(query: nil) == nil)
        #expect(NameFilter(query: "") == nil)
        #expect(NameFilter(query: "name=a") == nil)
        #expect(NameFilter(query: "name[]=a&name[]=b")?.names == ["a", "b"])
        #expect(NameFilter(query: "name%5b%5d=a%3Ab+c&name[]")?.names == ["a:b c"])
    }
}
