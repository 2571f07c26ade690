import Foundation
import TestSupport
import Testing

@testable import MetricsKit

/// Native histograms: client_golang's schema, keys, spans and deltas, the bucket limit
/// strategy, and the protobuf encoding read back by Google's decoder.
@Suite("Native histograms")
struct NativeHistogramTests {
    @Test(arguments: [(1.1, 3), (2.0, 0), (1.0001, 8), (65_536.0, -4), (4.0, -1), (1.5, 1), (1.01, 7)] as [(Double, Int32)])
    func bucketFactorGivesClientGolangsSchema(factor: Double, schema: Int32) {
        #expect(NativeHistogramOptions(bucketFactor: factor).schema == schema)
    }

    @Test func keysAreClientGolangs() {
        // schema 3: 1 is the upper bound of bucket 0; 1.1 lies in (2^(1/8), 2^(2/8)].
        #expect(NativeSchema.key(1, schema: 3) == 0)
        #expect(NativeSchema.key(1.1, schema: 3) == 2)
        #expect(NativeSchema.key(0.5, schema: 3) == -8)
        #expect(NativeSchema.key(3, schema: 3) == 13)
        #expect(NativeSchema.key(2, schema: 0) == 1)
        #expect(NativeSchema.key(3, schema: 0) == 2)
        #expect(NativeSchema.key(3, schema: -1) == 1)
        #expect(NativeSchema.key(.leastNonzeroMagnitude, schema: 0) == -1074)
        #expect(NativeSchema.upperBound(2, schema: 3) == exp2(0.25))
        for schema: Int32 in -4...8 {
            for value in [1e-9, 0.003, 0.7, 1, 1.5, 42, 1e6] {
                let key = NativeSchema.key(value, schema: schema)
                #expect(value <= NativeSchema.upperBound(key, schema: schema) * (1 + 1e-12), "\(value) schema \(schema)")
                #expect(value > NativeSchema.upperBound(key - 1, schema: schema) * (1 - 1e-12), "\(value) schema \(schema)")
            }
        }
    }

    @Test func invalidOptionsThrowNamingTheMetric() {
        for options in [
            NativeHistogramOptions(bucketFactor: 1), NativeHistogramOptions(zeroThreshold: -1),
            NativeHistogramOptions(maxBucketCount: 0), NativeHistogramOptions(minResetDuration: .seconds(-1)),
        ] {
            #expect(throws: MetricsKitError.self) {
                _ = try MetricRegistry().histogram("h_seconds", help: "H.", buckets: [], native: options)
            }
        }
    }

    static func native(_ histogram: Histogram) -> (NativeBuckets, positive: [NativeBucket], negative: [NativeBucket], count: UInt64)? {
        histogram.collect { _, total, _, native in
            native.map { ($0, Array($0.positive), Array($0.negative), total) }
        }
    }

    @Test func limitHalvesTheResolution() throws {
        let h = try MetricRegistry().histogram(
            "h", help: "H.", buckets: [], native: NativeHistogramOptions(bucketFactor: 2, maxBucketCount: 4))
        for value in [1.0, 2, 4, 8, 16, 32] { h.observe(value) }
        let (native, positive, _, count) = try #require(Self.native(h))
        #expect(native.schema == -1)
        #expect(positive.map(\.index) == [0, 1, 2, 3])
        #expect(positive.map(\.count) == [1, 2, 2, 1])
        #expect(count == 6)
    }

    @Test func limitWidensTheZeroBucketFirst() throws {
        let h = try MetricRegistry().histogram(
            "h", help: "H.", buckets: [],
            native: NativeHistogramOptions(bucketFactor: 2, maxBucketCount: 2, maxZeroThreshold: 2))
        for value in [0.5, 1, 3] { h.observe(value) }
        let (native, positive, _, _) = try #require(Self.native(h))
        #expect(native.schema == 0)
        #expect(native.zeroThreshold == 0.5)
        #expect(native.zeroCount == 1)
        #expect(positive.map(\.index) == [0, 2])
    }

    @Test func limitResetsWhenTheLastResetIsOldEnough() throws {
        let h = try MetricRegistry().histogram(
            "h", help: "H.", buckets: [1],
            native: NativeHistogramOptions(bucketFactor: 2, maxBucketCount: 1, minResetDuration: .nanoseconds(1)))
        h.observe(1)
        h.observe(2)  // a second bucket: reset, then this observation again
        let (native, positive, _, count) = try #require(Self.native(h))
        #expect(count == 1)
        #expect(positive.map(\.index) == [1])
        #expect(native.schema == 0)
        #expect(h.snapshot().buckets.map(\.count) == [0, 1])
    }

    @Test(arguments: [[0.01, 1], []] as [[Double]])
    func concurrentObservationsStayConsistentWithScrapes(buckets: [Double]) async throws {
        // With classic buckets their increment completes an observation; native-only, the
        // native one does.
        let h = try MetricRegistry().histogram(
            "h", help: "H.", buckets: buckets, native: NativeHistogramOptions(maxBucketCount: 20))
        let perTask = 20_000
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<2 {
                group.addTask {
                    for i in 0..<perTask { h.observe(Double((i * 7 + t) % 1000 + 1) * 1e-3) }
                }
            }
            group.addTask {
                for _ in 0..<200 {
                    h.collect { counts, total, _, native in
                        let classic = counts.reduce(0, +)
                        let nativeTotal = native.map { $0.zeroCount + $0.positive.reduce(0) { $0 + $1.count } } ?? 0
                        #expect(classic == total)
                        #expect(nativeTotal == total)
                    }
                }
            }
        }
        let (native, positive, _, count) = try #require(Self.native(h))
        #expect(count == UInt64(2 * perTask))
        #expect(positive.reduce(0) { $0 + $1.count } + native.zeroCount == count)
        #expect(positive.count <= 20 + 2)
    }

    @Test func histogramWithoutFiniteBoundsCountsInInf() throws {
        // A layout with only +Inf once scanned an uninitialized bound (and could hang a scrape).
        let registry = MetricRegistry()
        let h = try registry.histogram("plain_seconds", help: "P.", buckets: [])
        for value in [0.5, 1e300, -3] { h.observe(value) }
        #expect(h.snapshot().buckets.map(\.count) == [3])
        #expect(registry.render().contains("plain_seconds_bucket{le=\"+Inf\"} 3\nplain_seconds_sum 1e+300\nplain_seconds_count 3\n"))
    }

    @Test func textFormatsShowClassicBucketsOnly() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let both = try registry.histogram("both_seconds", help: "B.", buckets: [1], native: NativeHistogramOptions())
        let only = try registry.histogram("only_seconds", help: "O.", buckets: [], native: NativeHistogramOptions())
        both.observe(0.5)
        only.observe(0.5)
        only.observe(2)
        #expect(
            registry.render() == """
                # HELP both_seconds B.
                # TYPE both_seconds histogram
                both_seconds_bucket{le="1"} 1
                both_seconds_bucket{le="+Inf"} 1
                both_seconds_sum 0.5
                both_seconds_count 1
                # HELP only_seconds O.
                # TYPE only_seconds histogram
                only_seconds_bucket{le="+Inf"} 2
                only_seconds_sum 2.5
                only_seconds_count 2

                """)
    }

    /// With classic buckets too, each bucket's exemplar stays on its bucket and the native
    /// exemplar list holds them all, oldest first; a histogram without native buckets has no list.
    @Test func nativeExemplarListHoldsEveryBucketsExemplar() throws {
        let registry = MetricRegistry()
        let both = try registry.histogram("pb_both_seconds", help: "B.", buckets: [1], native: NativeHistogramOptions())
        both.observe(2, exemplar: ["trace_id": "bb"])  // +Inf bucket, older
        usleep(2_000)
        both.observe(0.5, exemplar: ["trace_id": "aa"])  // le=1, newer
        let classic = try registry.histogram("pb_classic_seconds", help: "C.", buckets: [1])
        classic.observe(0.5, exemplar: ["trace_id": "cc"])
        var body: [UInt8] = []
        registry.render(.protobuf, into: &body)
        guard let families = try ProtobufTests.decode(body) else { return }
        func histogram(_ name: String) -> [String: Any]? {
            let family = families.first { $0["name"] as? String == name }
            return ((family?["metric"] as? [[String: Any]])?.first)?["histogram"] as? [String: Any]
        }
        let listed = (histogram("pb_both_seconds")?["exemplars"] as? [[String: Any]]) ?? []
        let traceIDs = listed.compactMap { ($0["label"] as? [[String: Any]])?.first?["value"] as? String }
        #expect(traceIDs == ["bb", "aa"], "\(listed)")
        #expect(listed.allSatisfy { $0["timestamp"] != nil })
        let buckets = (histogram("pb_both_seconds")?["bucket"] as? [[String: Any]]) ?? []
        #expect(buckets.count == 2 && buckets.allSatisfy { $0["exemplar"] != nil }, "\(buckets)")
        #expect(histogram("pb_classic_seconds")?["exemplars"] == nil)
    }

    @Test func protobufCarriesNativeBucketsAsClientGolangDoes() throws {
        let registry = MetricRegistry()
        let h = try registry.histogram("pb_native_seconds", help: "N.", buckets: [], native: NativeHistogramOptions())
        for value in [1, 1.125, 1.25, -0.5, 0, 0x1p-140] { h.observe(value) }
        h.observe(3, exemplar: ["trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"])
        let empty = try registry.histogram("pb_empty_seconds", help: "E.", buckets: [1], native: NativeHistogramOptions())
        _ = empty
        let exact = try registry.histogram(
            "pb_exact_zero_seconds", help: "Z.", buckets: [], native: NativeHistogramOptions(zeroThreshold: 0))
        _ = exact
        var body: [UInt8] = []
        registry.render(.protobuf, into: &body)
        guard let families = try ProtobufTests.decode(body) else { return }
        let now = ProtobufTests.now
        let expected: [[String: Any]] = [
            [
                "name": "pb_empty_seconds", "help": "E.", "type": "HISTOGRAM",
                "metric": [[
                    "histogram": [
                        "sample_count": 0, "sample_sum": 0.0, "created_timestamp": now,
                        "bucket": [["cumulative_count": 0, "upper_bound": 1.0]],
                        "schema": 3, "zero_threshold": 0x1p-128, "zero_count": 0,
                    ],
                ]],
            ],
            [
                "name": "pb_exact_zero_seconds", "help": "Z.", "type": "HISTOGRAM",
                "metric": [[
                    "histogram": [
                        "sample_count": 0, "sample_sum": 0.0, "created_timestamp": now,
                        "schema": 3, "zero_threshold": 0.0, "zero_count": 0,
                        "positive_span": [["offset": 0, "length": 0]],
                    ],
                ]],
            ],
            [
                "name": "pb_native_seconds", "help": "N.", "type": "HISTOGRAM",
                "metric": [[
                    "histogram": [
                        "sample_count": 7, "sample_sum": 5.875, "created_timestamp": now,
                        // Native-only: the +Inf bucket carries the exemplar, no other bucket.
                        "bucket": [[
                            "cumulative_count": 7, "upper_bound": "+Inf",
                            "exemplar": [
                                "label": [ProtobufTests.pair("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")],
                                "value": 3.0, "timestamp": now,
                            ],
                        ]],
                        "schema": 3, "zero_threshold": 0x1p-128, "zero_count": 2,
                        "negative_span": [["offset": -8, "length": 1]], "negative_delta": [1],
                        "positive_span": [["offset": 0, "length": 4], ["offset": 9, "length": 1]],
                        "positive_delta": [1, -1, 1, 0, 0],
                        // ... and the native histogram's own exemplar list (newer Prometheus versions).
                        "exemplars": [[
                            "label": [ProtobufTests.pair("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")],
                            "value": 3.0, "timestamp": now,
                        ]],
                    ],
                ]],
            ],
        ]
        ProtobufTests.compare(families, expected, at: "families")
    }
}
