import Synchronization

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

/// Bucket keys and bounds of the native schemas, as client_golang computes them.
enum NativeSchema {
    /// For schemas 1...8, the `2^schema` fractions `2^(i/2^schema)/2` in [0.5, 1), schema by
    /// schema end to end (schema s starts at `2^s - 2`).
    nonisolated(unsafe) static let bounds: UnsafeMutablePointer<Double> = {  // written once, then only read
        let bounds = UnsafeMutablePointer<Double>.allocate(capacity: 510)
        var i = 0
        for schema in 1...8 {
            let n = 1 << schema
            for k in 0..<n {
                bounds[i] = k == 0 ? 0.5 : exp2(Double(k) / Double(n)) / 2
                i += 1
            }
        }
        return bounds
    }()

    /// The key of the bucket holding `magnitude` (> 0): `frexp` gives `frac * 2^exp` with
    /// frac in [0.5, 1); for schema > 0 the key is the index of the first bound >= frac plus
    /// `(exp - 1) * 2^schema`; for schema <= 0 it is `exp` (one less when frac is 0.5), shifted.
    static func key(_ magnitude: Double, schema: Int32) -> Int32 {
        key(magnitude, schema: schema, bounds: bounds)
    }

    /// ``key(_:schema:)`` with the bounds table passed in (read once per histogram, not per call).
    @inline(__always)
    static func key(_ magnitude: Double, schema: Int32, bounds: UnsafeMutablePointer<Double>) -> Int32 {
        // frexp from the bits for normal numbers; subnormals take the slow way.
        let bits = magnitude.bitPattern
        let biased = Int32(truncatingIfNeeded: bits >> 52)
        let mantissa = bits & 0x000F_FFFF_FFFF_FFFF
        let exp: Int32
        let frac: Double
        if biased != 0 {
            exp = biased &- 1022
            frac = Double(bitPattern: mantissa | 0x3FE0_0000_0000_0000)
        } else {
            exp = Int32(truncatingIfNeeded: magnitude.exponent) &+ 1
            frac = magnitude.significand * 0.5
        }
        if schema > 0 {
            let n = Int(1) << schema
            let table = bounds + (n &- 2)
            // The number of bounds below frac, by a binary search without data-dependent
            // branches (observed values are random: a mispredicted branch per step would cost
            // more than the search).
            var position = 0
            var step = n >> 1
            while step > 0 {
                position &+= table[position &+ step &- 1] < frac ? step : 0
                step >>= 1
            }
            position &+= table[position] < frac ? 1 : 0
            return Int32(truncatingIfNeeded: position) &+ (exp &- 1) &* Int32(truncatingIfNeeded: n)
        }
        var key = exp
        if frac == 0.5 { key &-= 1 }
        let offset = (Int32(1) << -schema) &- 1
        return (key &+ offset) >> -schema
    }

    /// The upper bound of bucket `key`: `2^(key * 2^-schema)`.
    static func upperBound(_ key: Int32, schema: Int32) -> Double {
        exp2(Double(key) * exp2(Double(-schema)))
    }

    /// The key of the same range one schema lower (buckets twice as wide).
    @inline(__always)
    static func halved(_ key: Int32) -> Int32 {
        (key > 0 ? key &+ 1 : key) / 2
    }
}

/// The native buckets of one histogram series: for each stripe and each half of the
/// histogram's double buffer, the half's schema, zero threshold, zero count, the number of
/// populated buckets, and a lock-free open-addressing table of (key, count) slots.
///
/// An observation adds to the table of the half it started in, before the classic bucket
/// increment that marks it complete, so a scrape that waits for a half to go quiet sees native
/// and classic counts of exactly the same observations. Changing schema or zero threshold,
/// and resets, happen under the family's collect lock on quiet halves, as client_golang does.
final class NativeState: @unchecked Sendable {
    let options: NativeHistogramOptions
    let initialSchema: Int32
    /// Table slots per half (a power of two, at least twice the max bucket count).
    let capacity: Int
    private let mask: Int
    private let shift: UInt64
    /// Words per half: 4 header words, then 2 per slot.
    let halfWords: Int
    private let storage: UnsafeMutablePointer<Atomic<UInt64>>
    private let wordCount: Int
    /// When the histogram was created or last reset (bits of Unix seconds).
    let lastReset = Atomic<UInt64>(0)
    /// Whether the zero bucket or the schema differ from the options (undone by a reset).
    let reduced = Atomic<Bool>(false)
    /// ``NativeHistogramOptions/minResetDuration`` in seconds.
    let minResetSeconds: Double
    /// Whether the native increment completes an observation (native-only histograms: there is
    /// no classic bucket to mark it, so scrapes count completed observations here).
    let completes: Bool
    private let bounds = NativeSchema.bounds

    static let schemaWord = 0, thresholdWord = 1, zeroCountWord = 2, usedWord = 3
    /// Key words: 0 empty; else bit 32 set for negative buckets, the low 32 bits the index.
    private static let negativeFlag: UInt64 = 1 << 32
    private static let occupied: UInt64 = 1 << 33

    init(options: NativeHistogramOptions, stripes: Int, created: Double, completes: Bool) {
        self.options = options
        self.completes = completes
        self.initialSchema = options.schema
        let (seconds, attoseconds) = options.minResetDuration.components
        self.minResetSeconds = Double(seconds) + Double(attoseconds) * 1e-18
        var capacity = 16
        while capacity < 2 * options.maxBucketCount + 16 { capacity *= 2 }
        self.capacity = capacity
        self.mask = capacity - 1
        self.shift = UInt64(64 - capacity.trailingZeroBitCount)
        self.halfWords = 4 + 2 * capacity
        self.wordCount = stripes * 2 * halfWords
        storage = .allocate(capacity: wordCount)
        for i in 0..<wordCount { (storage + i).initialize(to: Atomic<UInt64>(0)) }
        for half in 0..<(stripes * 2) { setParameters(storage + half * halfWords, initialSchema, options.zeroThreshold) }
        lastReset.store(created.bitPattern, ordering: .relaxed)
    }

    deinit {
        storage.deinitialize(count: wordCount)
        storage.deallocate()
    }

    /// The words of half `half` (0 or 1) of stripe `stripe`.
    @inline(__always)
    func half(_ stripe: Int, _ half: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        storage + (stripe &* 2 &+ half) &* halfWords
    }

    private func setParameters(_ half: UnsafeMutablePointer<Atomic<UInt64>>, _ schema: Int32, _ threshold: Double) {
        half[Self.schemaWord].store(UInt64(UInt32(bitPattern: schema)), ordering: .relaxed)
        half[Self.thresholdWord].store(threshold.bitPattern, ordering: .relaxed)
    }

    static func schema(of half: UnsafeMutablePointer<Atomic<UInt64>>) -> Int32 {
        Int32(bitPattern: UInt32(truncatingIfNeeded: half[schemaWord].load(ordering: .relaxed)))
    }

    static func threshold(of half: UnsafeMutablePointer<Atomic<UInt64>>) -> Double {
        Double(bitPattern: half[thresholdWord].load(ordering: .relaxed))
    }

    /// Records `value` in the given half; returns whether the half now holds more buckets than
    /// allowed (the caller then runs ``Histogram/limitNativeBuckets(_:)`` once the observation
    /// is complete).
    @inline(__always)
    func record(_ value: Double, stripe: Int, half index: Int) -> Bool {
        let half = half(stripe, index)
        let threshold = Self.threshold(of: half)
        let magnitude = value.magnitude
        if magnitude <= threshold {
            half[Self.zeroCountWord].wrappingAdd(1, ordering: .releasing)
            return false
        }
        let key = NativeSchema.key(magnitude, schema: Self.schema(of: half), bounds: bounds)
        switch add(1, key: key, negative: value < 0, to: half) {
        case .added: return false
        case .created: return half[Self.usedWord].load(ordering: .relaxed) > UInt64(options.maxBucketCount)
        case .full:
            // Cannot happen while the limit works (the table holds twice the limit); if it
            // ever did, the observation still counts, in the zero bucket.
            half[Self.zeroCountWord].wrappingAdd(1, ordering: .releasing)
            return true
        }
    }

    enum AddResult { case added, created, full }

    /// Adds `count` to bucket `key` of a half's table, claiming a slot for a new bucket.
    @inline(__always)
    private func add(_ count: UInt64, key: Int32, negative: Bool, to half: UnsafeMutablePointer<Atomic<UInt64>>)
        -> AddResult
    {
        let word = Self.occupied | (negative ? Self.negativeFlag : 0) | UInt64(UInt32(bitPattern: key))
        let slots = half + 4
        var i = Int(truncatingIfNeeded: (word &* 0x9E37_79B9_7F4A_7C15) >> shift)
        for _ in 0..<capacity {
            let slot = slots + 2 &* i
            let current = slot[0].load(ordering: .relaxed)
            if current == word {
                slot[1].wrappingAdd(count, ordering: .releasing)
                return .added
            }
            if current == 0 {
                let (claimed, found) = slot[0].compareExchange(expected: 0, desired: word, ordering: .relaxed)
                if claimed || found == word {
                    slot[1].wrappingAdd(count, ordering: .releasing)
                    if claimed { half[Self.usedWord].wrappingAdd(1, ordering: .relaxed) }
                    return claimed ? .created : .added
                }
            }
            i = (i &+ 1) & mask
        }
        return .full
    }

    /// The observations a half has completed (zero bucket and all buckets), for native-only
    /// histograms whose native increment marks completion.
    func completed(_ half: UnsafeMutablePointer<Atomic<UInt64>>) -> UInt64 {
        var total = half[Self.zeroCountWord].load(ordering: .acquiring)
        let slots = half + 4
        for i in 0..<capacity where slots[2 * i].load(ordering: .relaxed) != 0 {
            total &+= slots[2 * i + 1].load(ordering: .acquiring)
        }
        return total
    }

    /// Calls `body(key, negative, count)` for every populated bucket of a quiet half.
    func forEachBucket(_ half: UnsafeMutablePointer<Atomic<UInt64>>, _ body: (Int32, Bool, UInt64) -> Void) {
        let slots = half + 4
        for i in 0..<capacity {
            let word = slots[2 * i].load(ordering: .relaxed)
            guard word != 0 else { continue }
            let count = slots[2 * i + 1].load(ordering: .relaxed)
            if count > 0 {
                body(Int32(bitPattern: UInt32(truncatingIfNeeded: word)), word & Self.negativeFlag != 0, count)
            }
        }
    }

    /// Empties a quiet half's buckets and zero count, and gives it the parameters.
    func clear(_ half: UnsafeMutablePointer<Atomic<UInt64>>, schema: Int32, threshold: Double) {
        for i in 3..<halfWords { half[i].store(0, ordering: .relaxed) }
        half[Self.zeroCountWord].store(0, ordering: .relaxed)
        setParameters(half, schema, threshold)
    }

    /// How a quiet half's buckets map into a half with other parameters.
    struct Change {
        var schema: Int32
        var threshold: Double
        /// Buckets at or below this key (on either side) go to the zero bucket.
        var intoZeroUpTo: Int32?
        /// How many times the resolution halves.
        var halvings: Int32
    }

    /// Adds a quiet half (`from`) into another (`into`, possibly in use), converting keys by
    /// `change` (nil: same parameters), and clears `from` with the parameters of `into`.
    func fold(_ from: UnsafeMutablePointer<Atomic<UInt64>>, into: UnsafeMutablePointer<Atomic<UInt64>>, change: Change?) {
        into[Self.zeroCountWord].wrappingAdd(from[Self.zeroCountWord].load(ordering: .relaxed), ordering: .relaxed)
        forEachBucket(from) { key, negative, count in
            var key = key
            if let change {
                if let limit = change.intoZeroUpTo, key <= limit {
                    into[Self.zeroCountWord].wrappingAdd(count, ordering: .relaxed)
                    return
                }
                for _ in 0..<change.halvings { key = NativeSchema.halved(key) }
            }
            if case .full = add(count, key: key, negative: negative, to: into) {
                into[Self.zeroCountWord].wrappingAdd(count, ordering: .relaxed)
            }
        }
        clear(from, schema: Self.schema(of: into), threshold: Self.threshold(of: into))
    }

    /// Rewrites a quiet half in place with new parameters.
    func rebuild(_ half: UnsafeMutablePointer<Atomic<UInt64>>, _ change: Change) {
        withUnsafeTemporaryAllocation(of: Atomic<UInt64>.self, capacity: halfWords) { scratch in
            let copy = scratch.baseAddress!
            for i in 0..<halfWords { (copy + i).initialize(to: Atomic<UInt64>(half[i].load(ordering: .relaxed))) }
            clear(half, schema: change.schema, threshold: change.threshold)
            fold(copy, into: half, change: change)
            copy.deinitialize(count: halfWords)
        }
    }

    /// The most populated buckets of any half.
    func populated(stripes: Int) -> UInt64 {
        var most: UInt64 = 0
        for stripe in 0..<stripes {
            for index in 0..<2 { most = max(most, half(stripe, index)[Self.usedWord].load(ordering: .relaxed)) }
        }
        return most
    }

    /// The key closest to zero among the buckets of the given halves, if any.
    func smallestKey(_ halves: [UnsafeMutablePointer<Atomic<UInt64>>]) -> Int32? {
        var smallest: Int32?
        for half in halves {
            forEachBucket(half) { key, _, _ in smallest = min(smallest ?? key, key) }
        }
        return smallest
    }
}

/// Merges the buckets of several halves into sorted (index, count) runs, for a scrape.
struct NativeMerge {
    var positive: UnsafeMutableBufferPointer<NativeBucket>
    var negative: UnsafeMutableBufferPointer<NativeBucket>
    var positiveCount = 0
    var negativeCount = 0
    var zeroCount: UInt64 = 0

    mutating func add(_ key: Int32, negative isNegative: Bool, _ count: UInt64) {
        if isNegative {
            Self.insert(key, count, into: negative, used: &negativeCount)
        } else {
            Self.insert(key, count, into: positive, used: &positiveCount)
        }
    }

    private static func insert(
        _ key: Int32, _ count: UInt64, into buckets: UnsafeMutableBufferPointer<NativeBucket>, used: inout Int
    ) {
        var low = 0
        var high = used
        while low < high {
            let mid = (low + high) >> 1
            if buckets[mid].index < key { low = mid + 1 } else { high = mid }
        }
        if low < used && buckets[low].index == key {
            buckets[low].count &+= count
            return
        }
        guard used < buckets.count else { return }
        var i = used
        while i > low {
            buckets[i] = buckets[i - 1]
            i -= 1
        }
        buckets[low] = NativeBucket(index: key, count: count)
        used += 1
    }
}
