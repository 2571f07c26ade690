#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a histogram keeps native (exponential, "sparse") buckets, with client_golang's options
/// and algorithms. Prometheus stores such a histogram as one native histogram series when it
/// scrapes protobuf (2.40+ with `--enable-feature=native-histograms`); the text formats show
/// only the classic buckets.
///
/// Bucket boundaries are powers of `2^(2^-schema)`: each power of two is split into
/// `2^schema` buckets (schema 3: 8 buckets, each at most 9.05% wider than the previous).
/// Observations with an absolute value up to ``zeroThreshold`` count in the zero bucket.
///
/// **Bounded buckets.** Once more than ``maxBucketCount`` buckets are populated, the strategy
/// of client_golang applies: if the histogram was last reset at least ``minResetDuration`` ago,
/// it is reset (classic buckets too); otherwise the zero bucket widens to take in the bucket
/// closest to zero, as long as the threshold stays at or below ``maxZeroThreshold``; otherwise
/// the resolution halves (schema - 1, down to -4). A widened zero bucket or lowered resolution
/// returns to the configured values at the first scrape after ``minResetDuration`` has passed
/// since the last reset (client_golang uses a timer for that).
public struct NativeHistogramOptions: Sendable, Hashable {
    /// The largest growth factor from one bucket to the next (> 1); the schema is the largest
    /// in -4...8 whose factor `2^(2^-schema)` does not exceed it. Default 1.1 (schema 3).
    public var bucketFactor: Double
    /// Observations with an absolute value at or below this count in the zero bucket. Default
    /// 2^-128 (client_golang's); 0 means only exact zeros.
    public var zeroThreshold: Double
    /// The most populated buckets (positive and negative together) before the strategy above
    /// applies. Default 160; 1 to 4,096. (client_golang allows no limit; MetricsKit always
    /// keeps one, so hostile values cannot grow a series' memory.)
    public var maxBucketCount: Int
    /// How long after a reset the histogram may be reset again to keep the bucket count down;
    /// zero (the default) never resets.
    public var minResetDuration: Duration
    /// How far the zero bucket may widen; zero (the default) never widens it.
    public var maxZeroThreshold: Double

    /// client_golang's default zero threshold, 2^-128.
    public static let defaultZeroThreshold: Double = 0x1p-128

    /// Creates options; the defaults are client_golang's recommended settings.
    public init(
        bucketFactor: Double = 1.1, zeroThreshold: Double = NativeHistogramOptions.defaultZeroThreshold,
        maxBucketCount: Int = 160, minResetDuration: Duration = .zero, maxZeroThreshold: Double = 0
    ) {
        self.bucketFactor = bucketFactor
        self.zeroThreshold = zeroThreshold
        self.maxBucketCount = maxBucketCount
        self.minResetDuration = minResetDuration
        self.maxZeroThreshold = maxZeroThreshold
    }

    /// The schema the bucket factor gives: `clamp(-floor(log2(log2(factor))), -4, 8)`.
    public var schema: Int32 {
        let floor = log2(log2(bucketFactor)).rounded(.down)
        if floor <= -8 { return 8 }
        if floor >= 4 { return -4 }
        return Int32(-floor)
    }

    func validated(metric: String) throws(MetricsKitError) -> NativeHistogramOptions {
        guard bucketFactor > 1, bucketFactor.isFinite else {
            throw MetricsKitError(
                .invalidParameter, metric: metric, reason: "native bucket factor must be finite and above 1 (got \(bucketFactor))")
        }
        guard zeroThreshold >= 0, zeroThreshold.isFinite, maxZeroThreshold >= 0, maxZeroThreshold.isFinite else {
            throw MetricsKitError(
                .invalidParameter, metric: metric,
                reason: "native zero thresholds must be finite and not negative (got \(zeroThreshold), max \(maxZeroThreshold))")
        }
        guard (1...4096).contains(maxBucketCount) else {
            throw MetricsKitError(
                .invalidParameter, metric: metric, reason: "native max bucket count must be 1...4096 (got \(maxBucketCount))")
        }
        guard minResetDuration >= .zero else {
            throw MetricsKitError(.invalidParameter, metric: metric, reason: "native min reset duration must not be negative")
        }
        return self
    }
}
