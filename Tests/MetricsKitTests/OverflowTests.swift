import Testing

@testable import MetricsKit

/// Values at the edges of the number types: no trap, no wrap, no silent infinity.
@Suite("Overflow")
struct OverflowTests {
    @Test func counterSaturatesInsteadOfWrapping() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("jobs_total", help: "Jobs.")
        var seen: [Double] = []
        for amount in [Int.max, Int.max, 2] {
            counter.increment(by: amount)
            seen.append(counter.value)
        }
        counter.increment()
        counter.increment(by: 3.0)
        seen.append(counter.value)
        #expect(seen == seen.sorted(), "went backwards: \(seen)")
        #expect(counter.value == 9_223_372_036_854_775_808)
        #expect(registry.render().contains("\njobs_total 9223372036854775808\n"))
        #expect(registry.rejectedUpdates(of: "jobs_total") == 4)  // all but the first
    }

    @Test func linearBucketsRefuseAHugeCount() throws {
        #expect(throws: MetricsKitError.self) { try Histogram.linearBuckets(start: 0, width: 1, count: Int.max) }
        #expect(throws: MetricsKitError.self) { try Histogram.linearBuckets(start: 0, width: 1, count: 1001) }
        #expect(try Histogram.linearBuckets(start: 0, width: 1, count: 1000).count == 1000)
        // Bounds that round onto each other are not ascending.
        #expect(throws: MetricsKitError.self) { try Histogram.linearBuckets(start: 1e17, width: 1, count: 3) }
    }

    @Test func exponentialBucketsRefuseInfiniteBounds() throws {
        #expect(throws: MetricsKitError.self) { try Histogram.exponentialBuckets(start: 1, factor: 10, count: 400) }
        // Only the last bound overflows: still an error, not one bucket fewer.
        #expect(throws: MetricsKitError.self) { try Histogram.exponentialBuckets(start: 1, factor: 10, count: 310) }
        let bounds = try Histogram.exponentialBuckets(start: 1, factor: 10, count: 300)
        #expect(bounds.count == 300 && bounds.allSatisfy(\.isFinite))
    }

    @Test func qualityValuesFollowOneRule() {
        #expect(QualityValue.parse("1") == 1)
        #expect(QualityValue.parse("1.000") == 1)
        #expect(QualityValue.parse("0.75") == 0.75)
        #expect(QualityValue.parse("0.001") == 0.001)
        for malformed in ["abc", "2", "-1", "1.5", "0.0001", ".5", "", "nan", "1e-3"] {
            #expect(QualityValue.parse(malformed) == 0, "\(malformed)")
        }
        #expect(QualityValue.of(parameters: ["version=1.0.0"]) == 1)
        #expect(QualityValue.of(parameters: [" Q=0.5 "]) == 0.5)
        #expect(QualityValue.of(parameters: ["q=abc"]) == 0)
        // The same rule in both headers: q=abc refuses OpenMetrics in Accept and gzip in Accept-Encoding.
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;q=abc") == .prometheusText)
        #expect(!GzipBuffer.isAccepted(by: "gzip;q=abc"))
        #expect(GzipBuffer.isAccepted(by: "gzip;q=0.5"))
    }
}
