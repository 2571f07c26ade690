import Testing

@testable import MetricsKit

@Suite("Counter")
struct CounterTests {
    @Test func startsAtZeroAndCountsWholeAndFractionalIncrements() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("jobs_total", help: "Jobs.")
        #expect(counter.value == 0)
        counter.increment()
        counter.increment(by: 2)
        counter.increment(by: 2.5)
        counter.increment(by: 0.25)
        #expect(counter.value == 5.75)
        #expect(registry.render().contains("\njobs_total 5.75\n"))
    }

    @Test(arguments: [-1.0, -0.5, Double.nan, .infinity, -.infinity])
    func refusesInvalidIncrementsAndCountsThem(amount: Double) throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("jobs_total", help: "Jobs.")
        counter.increment(by: 3)
        counter.increment(by: amount)
        #expect(counter.value == 3)
        #expect(registry.rejectedUpdates(of: "jobs_total") == 1)
        #expect(
            registry.render().contains(
                "metricskit_rejected_updates_total{metric=\"jobs_total\",reason=\"invalid_value\"} 1\n"))
    }

    @Test func refusesNegativeIntegerIncrement() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("jobs_total", help: "Jobs.")
        counter.increment(by: -2)
        #expect(counter.value == 0)
        #expect(registry.rejectedUpdates(of: "jobs_total") == 1)
    }

    @Test func largeWholeIncrementsStayExact() throws {
        let counter = try MetricRegistry().counter("bytes_total", help: "Bytes.")
        counter.increment(by: 1e15)
        counter.increment(by: 1)
        #expect(counter.value == 1_000_000_000_000_001)
    }

    @Test func callbackCounterIsReadAtScrapeTime() throws {
        let registry = MetricRegistry()
        let source = Counter(descriptor: FamilyDescriptor(
            name: "x", help: "", type: .counter, labelNames: [], constLabels: [:]), labelValues: [])
        try registry.counter("reads_total", help: "Reads.") { source.value }
        source.increment(by: 41)
        #expect(registry.render().contains("\nreads_total 41\n"))
        source.increment()
        #expect(registry.render().contains("\nreads_total 42\n"))
    }

    @Test func callbackCounterWithInvalidValueIsNotExported() throws {
        let registry = MetricRegistry()
        try registry.counter("broken_total", help: "Broken.") { -1 }
        let text = registry.render()
        #expect(text.contains("# TYPE broken_total counter\n"))
        #expect(!text.contains("\nbroken_total "))
        #expect(registry.rejectedUpdates(of: "broken_total") == 1)
    }
}

@Suite("Gauge")
struct GaugeTests {
    @Test func setIncrementDecrement() throws {
        let gauge = try MetricRegistry().gauge("in_flight", help: "In flight.")
        gauge.increment()
        gauge.increment(by: 2.5)
        gauge.decrement()
        gauge.decrement(by: 0.5)
        #expect(gauge.value == 2)
        gauge.set(-7.25)
        #expect(gauge.value == -7.25)
        gauge.set(.nan)
        #expect(gauge.value.isNaN)
    }

    @Test func nonFiniteIncrementIsRefused() throws {
        let registry = MetricRegistry()
        let gauge = try registry.gauge("level", help: "Level.")
        gauge.set(1)
        gauge.increment(by: .nan)
        gauge.decrement(by: .infinity)
        #expect(gauge.value == 1)
        #expect(registry.rejectedUpdates(of: "level") == 2)
    }

    @Test func setToCurrentTimeUsesUnixSeconds() throws {
        let gauge = try MetricRegistry().gauge("last_run_timestamp_seconds", help: "Last run.")
        gauge.setToCurrentTime()
        // 2023-01-01 .. 2100-01-01
        #expect(gauge.value > 1_672_531_200 && gauge.value < 4_102_444_800)
    }

    @Test func callbackGaugeIsReadAtScrapeTime() throws {
        let registry = MetricRegistry()
        let depth = try registry.gauge("depth_source", help: "Source.")
        try registry.gauge("queue_depth", help: "Queue depth.", constLabels: ["queue": "main"]) { depth.value }
        depth.set(12)
        #expect(registry.render().contains("\nqueue_depth{queue=\"main\"} 12\n"))
    }
}

@Suite("Histogram")
struct HistogramTests {
    @Test func bucketsAreCumulativeWithSumAndCount() throws {
        let registry = MetricRegistry()
        let histogram = try registry.histogram("latency_seconds", help: "Latency.", buckets: [0.1, 0.5, 1])
        for value in [0.0625, 0.09375, 0.375, 0.75, 3, -1] { histogram.observe(value) }
        let snapshot = histogram.snapshot()
        #expect(snapshot.buckets.map(\.count) == [3, 4, 5, 6])
        #expect(snapshot.buckets.map(\.upperBound) == [0.1, 0.5, 1, .infinity])
        #expect(snapshot.count == 6)
        #expect(snapshot.sum == 3.28125)
        let text = registry.render()
        #expect(
            text.contains(
                """
                latency_seconds_bucket{le="0.1"} 3
                latency_seconds_bucket{le="0.5"} 4
                latency_seconds_bucket{le="1"} 5
                latency_seconds_bucket{le="+Inf"} 6
                latency_seconds_sum 3.28125
                latency_seconds_count 6

                """))
        // A scrape must not change what the next one sees.
        #expect(histogram.snapshot() == snapshot)
        histogram.observe(0.2)
        #expect(histogram.snapshot().buckets.map(\.count) == [3, 5, 6, 7])
    }

    @Test func boundaryValueFallsIntoItsBucket() throws {
        let histogram = try MetricRegistry().histogram("x_seconds", help: "X.", buckets: [1, 2])
        histogram.observe(1)
        histogram.observe(2)
        #expect(histogram.snapshot().buckets.map(\.count) == [1, 2, 2])
    }

    @Test func manyBoundsUseBinarySearchCorrectly() throws {
        let bounds = try Histogram.linearBuckets(start: 1, width: 1, count: 40)
        let histogram = try MetricRegistry().histogram("wide", help: "Wide.", buckets: bounds)
        for value in stride(from: 0.5, through: 45, by: 0.5) { histogram.observe(value) }
        let snapshot = histogram.snapshot()
        for (i, bucket) in snapshot.buckets.enumerated() where bucket.upperBound.isFinite {
            #expect(bucket.count == UInt64(2 * (i + 1)), "bucket le=\(bucket.upperBound)")
        }
        #expect(snapshot.count == 90)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func refusesNonFiniteObservations(value: Double) throws {
        let registry = MetricRegistry()
        let histogram = try registry.histogram("x_seconds", help: "X.")
        histogram.observe(value)
        #expect(histogram.snapshot().count == 0)
        #expect(registry.rejectedUpdates(of: "x_seconds") == 1)
    }

    @Test func observesDurationsAndTimesClosures() throws {
        let histogram = try MetricRegistry().histogram("op_seconds", help: "Op.", buckets: [0.001, 1])
        histogram.observe(Duration.milliseconds(250))
        #expect(histogram.snapshot().sum == 0.25)
        let result = histogram.time { 42 }
        #expect(result == 42)
        struct Failure: Error {}
        #expect(throws: Failure.self) { try histogram.time { throw Failure() } }
        let snapshot = histogram.snapshot()
        #expect(snapshot.count == 3)
        #expect(snapshot.buckets[0].count == 2)  // the two closures took less than a millisecond
    }

    @Test func timesAsyncClosures() async throws {
        // The upper bound is generous: other tests may keep the cooperative pool busy.
        let histogram = try MetricRegistry().histogram("op_seconds", help: "Op.", buckets: [0.01, 600])
        let value = await histogram.time { () async -> Int in
            try? await Task.sleep(for: .milliseconds(20))
            return 7
        }
        #expect(value == 7)
        let snapshot = histogram.snapshot()
        #expect(snapshot.buckets.map(\.count) == [0, 1, 1])
        #expect(snapshot.sum >= 0.02)
    }

    @Test func bucketHelpers() throws {
        #expect(try Histogram.linearBuckets(start: 0.5, width: 0.5, count: 3) == [0.5, 1, 1.5])
        #expect(try Histogram.exponentialBuckets(start: 0.001, factor: 10, count: 3) == [0.001, 0.01, 0.1].map { $0 })
        #expect(Histogram.defaultBuckets == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        #expect(throws: MetricsKitError.self) { try Histogram.linearBuckets(start: 0, width: 0, count: 3) }
        #expect(throws: MetricsKitError.self) { try Histogram.linearBuckets(start: 0, width: 1, count: 0) }
        #expect(throws: MetricsKitError.self) { try Histogram.exponentialBuckets(start: 0, factor: 2, count: 3) }
        #expect(throws: MetricsKitError.self) { try Histogram.exponentialBuckets(start: 1, factor: 1, count: 3) }
    }

    @Test func trailingInfinityIsAcceptedAndImplied() throws {
        let registry = MetricRegistry()
        let histogram = try registry.histogram("x_seconds", help: "X.", buckets: [1, .infinity])
        #expect(histogram.snapshot().buckets.map(\.upperBound) == [1, .infinity])
        // The same definition spelled without +Inf is the same histogram.
        #expect(try registry.histogram("x_seconds", help: "X.", buckets: [1]) === histogram)
    }
}
