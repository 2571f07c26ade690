import MetricsKit
import MetricsKitTesting
import Testing

@Suite struct TestingHelpersTests {
    func shop() throws -> MetricRegistry {
        let registry = MetricRegistry()
        let orders = try registry.counter("shop_orders_total", help: "Orders placed.", labelNames: ["status"])
        orders.labels("paid").increment(by: 3)
        orders.labels("failed").increment()
        try registry.gauge("shop_queue_depth", help: "Orders waiting.").set(7.5)
        let latency = try registry.histogram(
            "shop_checkout_seconds", help: "Checkout latency.", labelNames: ["path"], buckets: [0.1, 1])
        latency.labels("/pay").observe(0.05)
        latency.labels("/pay").observe(0.5)
        latency.labels("/pay").observe(3)
        return registry
    }

    @Test func readsCounterGaugeAndHistogramValues() throws {
        let registry = try shop()
        #expect(try registry.value(of: "shop_orders_total", labels: ["status": "paid"]) == 3)
        #expect(try registry.value(of: "shop_orders_total", labels: ["status": "failed"]) == 1)
        #expect(try registry.value(of: "shop_orders_total", labels: ["status": "other"]) == nil)
        #expect(try registry.value(of: "shop_queue_depth") == 7.5)
        let latency = try #require(try registry.histogram("shop_checkout_seconds", labels: ["path": "/pay"]))
        #expect(latency.count == 3)
        #expect(latency.sum == 3.55)
        #expect(latency.buckets.map(\.upperBound) == [0.1, 1, .infinity])
        #expect(latency.buckets.map(\.count) == [1, 2, 3])
        #expect(try registry.histogram("shop_checkout_seconds", labels: ["path": "/other"]) == nil)
    }

    @Test func countsSeriesPerFamilyAndInAll() throws {
        let registry = try shop()
        #expect(try registry.seriesCount("shop_orders_total") == 2)
        #expect(try registry.seriesCount("shop_checkout_seconds") == 1)  // not one per bucket
        #expect(try registry.seriesCount("missing_total") == 0)
        // Every family of the registry, metricskit_rejected_updates_total included.
        let all = try registry.exposition().families.reduce(0) { $0 + $1.seriesLabels.count }
        #expect(try registry.seriesCount() == all)
        #expect(all >= 4)
    }

    static let expectedShop = """
        # HELP shop_queue_depth Orders waiting.
        # TYPE shop_queue_depth gauge
        shop_queue_depth 7.5
        # HELP shop_checkout_seconds Checkout latency.
        # TYPE shop_checkout_seconds histogram
        shop_checkout_seconds_sum{path="/pay"} 3.55
        shop_checkout_seconds_count{path="/pay"} 3
        shop_checkout_seconds_bucket{path="/pay",le="+Inf"} 3
        shop_checkout_seconds_bucket{path="/pay",le="1"} 2
        shop_checkout_seconds_bucket{path="/pay",le="0.1"} 1
        # HELP shop_orders_total Orders placed.
        # TYPE shop_orders_total counter
        shop_orders_total{status="failed"} 1.0
        shop_orders_total{status="paid"} 3
        """

    /// The shop registry without its rejected-updates family, which the expected text leaves out.
    func shopExposition() throws -> Exposition {
        var exposition = try shop().exposition()
        exposition.families.removeAll { $0.name == MetricRegistry.rejectedUpdatesMetricName }
        return exposition
    }

    @Test func comparesExpositionsIgnoringOrder() throws {
        let difference = try shopExposition().difference(from: Exposition(Self.expectedShop))
        #expect(difference.isEmpty, "\(difference)")
    }

    @Test func reportsMissingAndUnexpectedSamples() throws {
        let expected = Self.expectedShop.replacingOccurrences(of: "status=\"paid\"} 3", with: "status=\"paid\"} 4")
        let difference = try shopExposition().difference(from: Exposition(expected))
        #expect(difference.missing == ["shop_orders_total{status=\"paid\"} 4.0"])
        #expect(difference.unexpected == ["shop_orders_total{status=\"paid\"} 3.0"])
        #expect(difference.description.contains("- shop_orders_total{status=\"paid\"} 4.0"))
    }

    @Test func helpCountsUnlessIgnored() throws {
        let expected = Self.expectedShop.replacingOccurrences(of: "Orders waiting.", with: "Queue depth.")
        let strict = try shopExposition().difference(from: Exposition(expected))
        #expect(strict.missing == ["# HELP shop_queue_depth Queue depth."])
        #expect(strict.unexpected == ["# HELP shop_queue_depth Orders waiting."])
        let withoutHelp = expected.split(separator: "\n").filter { !$0.hasPrefix("# HELP") }.joined(separator: "\n")
        #expect(try shopExposition().difference(from: Exposition(withoutHelp), ignoringHelp: true).isEmpty)
        #expect(try !shopExposition().difference(from: Exposition(withoutHelp)).isEmpty)
    }

    @Test func registryDifferenceParsesTheExpectedText() throws {
        let registry = MetricRegistry()
        try registry.counter("jobs_total", help: "Jobs.", labelNames: ["queue"]).labels("mail").increment(by: 2)
        let difference = try registry.difference(
            from: """
                # TYPE jobs_total counter
                jobs_total{queue="mail"} 2
                """, ignoringHelp: true)
        #expect(difference.isEmpty, "\(difference)")
        #expect(throws: ExpositionError.self) { try registry.difference(from: "jobs_total{queue=mail} 2") }
    }

    @Test func aBadLineIsNamed() {
        #expect(throws: ExpositionError(line: 2, text: "not a sample", reason: "not a sample line")) {
            try Exposition("# TYPE a gauge\nnot a sample\n")
        }
        #expect(throws: ExpositionError.self) { try Exposition("# TYPE a gauge\n# TYPE a counter\n") }
    }
}
