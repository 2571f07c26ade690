import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Counts observations into cumulative buckets and keeps their sum: request latencies,
/// response sizes.
///
/// `observe` takes no lock: it is three atomic operations on the histogram's "hot" half.
/// A scrape swaps the hot and cold halves (client_golang's proven double buffer), waits for
/// the observations that started before the swap to finish, reads the now quiet cold half,
/// then folds it into the new hot half. So every scrape is one consistent set of
/// observations: the buckets are cumulative and non-decreasing, the `+Inf` bucket equals
/// `_count`, and `_sum` is the sum of exactly those observations, however many threads
/// observe meanwhile.
///
/// To keep threads on different CPUs from fighting over the same cache lines, a histogram
/// keeps one such double buffer per stripe (up to 4, one per CPU), each on its own cache
/// lines; `observe` uses the stripe of the CPU it runs on, and a scrape adds the stripes up.
///
/// A NaN or infinite observation is refused (it would poison `_sum` for the life of the
/// process) and counted as `metricskit_rejected_updates_total{reason="invalid_value"}`.
public final class Histogram: MetricSeries, @unchecked Sendable {
    @usableFromInline let layout: BucketLayout
    /// `stripeCount` stripes, `stripeStride` words apart (a multiple of a cache line). In each,
    /// word 0: bit 63 is the index of the hot half, bits 0...62 count observations started;
    /// then two halves, each `bucketCount` non-cumulative bucket counts and the sum's bits.
    /// A bucket increment is the last step of an observation, so a half's bucket counts
    /// add up to the observations it has completed.
    @usableFromInline let storage: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let halfStride: Int
    @usableFromInline let stripeStride: Int
    @usableFromInline static let stripeMask = Histogram.stripeCount - 1
    /// `stripeMask` per instance: reading a static `let` on the hot path costs a `swift_once` check.
    @usableFromInline let stripes: Int

    /// One stripe per CPU (a power of two), at most 4.
    static let stripeCount: Int = {
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var stripes = 1
        while stripes < cpus && stripes < 4 { stripes *= 2 }
        return stripes
    }()
    private var totalWords: Int { Self.stripeCount * stripeStride }

    /// The customary default bounds: 5 ms to 10 s, for latencies in seconds.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// The native buckets, for a histogram registered with native options.
    let native: NativeState?
    /// Whether there are native buckets, and whether their increment completes an observation
    /// (copies, so the inlined `observe` neither retains `native` nor reads through it).
    @usableFromInline let hasNative: Bool
    private let nativeUnretained: Unmanaged<NativeState>?
    @usableFromInline let nativeCompletes: Bool

    init(descriptor: FamilyDescriptor, labelValues: [String], layout: BucketLayout, native: NativeHistogramOptions? = nil) {
        self.layout = layout
        self.native = native.map {
            NativeState(
                options: $0, stripes: Self.stripeCount, created: WallClock.secondsSinceEpoch(),
                completes: layout.bounds.isEmpty)
        }
        self.nativeUnretained = self.native.map { Unmanaged.passUnretained($0) }
        self.hasNative = native != nil
        self.nativeCompletes = native != nil && layout.bounds.isEmpty
        self.stripes = Self.stripeMask
        self.halfStride = layout.bucketCount + 1
        self.stripeStride = (1 + 2 * halfStride + 7) & ~7  // whole 64-byte lines
        let words = Self.stripeCount * stripeStride
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: words * MemoryLayout<Atomic<UInt64>>.stride, alignment: 64)
        self.storage = raw.bindMemory(to: Atomic<UInt64>.self, capacity: words)
        for i in 0..<words { (storage + i).initialize(to: Atomic<UInt64>(0)) }
        super.init(descriptor: descriptor, labelValues: labelValues)
    }

    deinit {
        storage.deinitialize(count: totalWords)
        UnsafeMutableRawPointer(storage).deallocate()
    }

    /// Records one observation.
    @inlinable
    public func observe(_ value: Double) {
        guard value.isFinite else { return rejectInvalidValue() }
        let bucket = layout.bucketIndex(value)
        let stripeIndex = Int(truncatingIfNeeded: currentCPU()) & stripes
        let stripe = storage + stripeIndex &* stripeStride
        let started = stripe[0].wrappingAdd(1, ordering: .relaxed).oldValue
        let hotIndex = Int(truncatingIfNeeded: started >> 63)
        let half = stripe + 1 + hotIndex &* halfStride
        let sum = half + (halfStride &- 1)
        sum.pointee.add(double: value)
        guard hasNative else {
            half[bucket].wrappingAdd(1, ordering: .releasing)  // marks the observation complete
            return
        }
        // Native buckets before the classic increment that marks the observation complete (in
        // a native-only histogram, the native increment marks it).
        let overLimit = recordNative(value, stripe: stripeIndex, half: hotIndex)
        if !nativeCompletes { half[bucket].wrappingAdd(1, ordering: .releasing) }
        if overLimit { limitNativeBuckets(value) }
    }

    /// Adds an observation to the native buckets (called from the inlined `observe`, so the
    /// native state is reached from a guaranteed `self`, without reference counting).
    @usableFromInline
    func recordNative(_ value: Double, stripe: Int, half: Int) -> Bool {
        // `native` holds the reference; this unretained copy keeps the hot path free of ARC.
        nativeUnretained.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.record(value, stripe: stripe, half: half) }
    }

    /// Records a duration, in seconds.
    @inlinable
    public func observe(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        observe(Double(seconds) + Double(attoseconds) * 1e-18)
    }

    /// Runs `body`, observes how long it took (in seconds, on a monotonic clock), and returns
    /// its result. The duration is observed even when `body` throws.
    @inlinable
    public func time<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        let start = ContinuousClock.now
        defer { observe(ContinuousClock.now - start) }
        return try body()
    }

    /// Runs the asynchronous `body`, observes how long it took in seconds, and returns its result.
    @inlinable
    public func time<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        let start = ContinuousClock.now
        defer { observe(ContinuousClock.now - start) }
        return try await body()
    }

    /// A consistent view of the histogram at one moment.
    public struct Snapshot: Sendable, Equatable {
        /// Cumulative counts per upper bound, ascending, the last bound `+Inf`.
        public var buckets: [(upperBound: Double, count: UInt64)]
        /// The number of observations.
        public var count: UInt64
        /// The sum of the observations.
        public var sum: Double

        /// Equal counts, bucket for bucket, and the same sum bit for bit.
        public static func == (lhs: Snapshot, rhs: Snapshot) -> Bool {
            lhs.count == rhs.count && lhs.sum.bitPattern == rhs.sum.bitPattern
                && lhs.buckets.elementsEqual(rhs.buckets, by: { $0 == $1 })
        }
    }

    /// Takes a consistent snapshot (the same mechanism a scrape uses).
    public func snapshot() -> Snapshot {
        collect { counts, total, sum, _ in
            var cumulative: UInt64 = 0
            var buckets: [(upperBound: Double, count: UInt64)] = []
            for i in 0..<layout.bucketCount {
                cumulative &+= counts[i]
                buckets.append((i < layout.bounds.count ? layout.bounds[i] : .infinity, cumulative))
            }
            return Snapshot(buckets: buckets, count: total, sum: sum)
        }
    }

    /// For each stripe: swaps the hot and cold halves, waits for the cold half to go quiet,
    /// adds it to the totals, then folds it into the hot half. Hands `body` the totals:
    /// non-cumulative bucket counts, observation count, sum, and the native buckets if any.
    func collect<R>(_ body: (UnsafeMutableBufferPointer<UInt64>, UInt64, Double, NativeBuckets?) -> R) -> R {
        guard let native else { return collectStripes(nil) { body($0, $1, $2, nil) } }
        let capacity = Self.stripeCount * native.capacity
        let result = withUnsafeTemporaryAllocation(of: NativeBucket.self, capacity: capacity) { positive in
            withUnsafeTemporaryAllocation(of: NativeBucket.self, capacity: capacity) { negative in
                var merge = NativeMerge(positive: positive, negative: negative)
                var schema = native.initialSchema
                var threshold = native.options.zeroThreshold
                return collectStripes({ stripe, hotIndex in
                    let cold = native.half(stripe, 1 - hotIndex)
                    schema = NativeState.schema(of: cold)
                    threshold = NativeState.threshold(of: cold)
                    merge.zeroCount &+= cold[NativeState.zeroCountWord].load(ordering: .relaxed)
                    native.forEachBucket(cold) { key, negative, count in merge.add(key, negative: negative, count) }
                    native.fold(cold, into: native.half(stripe, hotIndex), change: nil)
                }) { counts, total, sum in
                    // A native-only histogram's one classic bucket (+Inf) is never incremented.
                    if native.completes { counts[0] = total }
                    return body(
                        counts, total, sum,
                        NativeBuckets(
                            schema: schema, zeroThreshold: threshold, zeroCount: merge.zeroCount,
                            positive: UnsafeBufferPointer(rebasing: positive[0..<merge.positiveCount]),
                            negative: UnsafeBufferPointer(rebasing: negative[0..<merge.negativeCount])))
                }
            }
        }
        // A widened zero bucket or lowered resolution goes back once the reset duration passed.
        if native.reduced.load(ordering: .relaxed), native.options.minResetDuration > .zero {
            layout.collectLock.withLock { _ in
                let now = WallClock.secondsSinceEpoch()
                if native.reduced.load(ordering: .relaxed), now - lastResetTime(native) >= native.minResetSeconds {
                    resetAll(native, now: now)
                }
            }
        }
        return result
    }

    /// The classic double-buffer scrape; `nativeStep(stripe, hotIndex)` runs for each stripe
    /// while its cold half is quiet.
    private func collectStripes<R>(
        _ nativeStep: ((Int, Int) -> Void)?, _ body: (UnsafeMutableBufferPointer<UInt64>, UInt64, Double) -> R
    ) -> R {
        let bucketCount = layout.bucketCount
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: bucketCount) { counts in
            counts.initialize(repeating: 0)
            var total: UInt64 = 0
            var sum = 0.0
            layout.collectLock.withLock { _ in
                for stripeIndex in 0..<Self.stripeCount {
                    let stripe = storage + stripeIndex * stripeStride
                    let flipped = stripe[0].wrappingAdd(1 << 63, ordering: .acquiringAndReleasing).newValue
                    let started = flipped & ~(1 << 63)
                    let hotIndex = Int(truncatingIfNeeded: flipped >> 63)
                    let hot = stripe + 1 + hotIndex * halfStride
                    let cold = stripe + 1 + (1 - hotIndex) * halfStride
                    waitQuiet(stripe: stripeIndex, half: 1 - hotIndex, completing: started)
                    total &+= started
                    nativeStep?(stripeIndex, hotIndex)
                    sum += fold(cold, into: hot) { i, count in counts[i] &+= count }
                }
            }
            return body(counts, total, sum)
        }
    }

    /// Waits until the observations completed in half `index` of a stripe (which no new
    /// observation enters) add up to `count`.
    private func waitQuiet(stripe: Int, half index: Int, completing count: UInt64) {
        let half = storage + stripe * stripeStride + 1 + index * halfStride
        let nativeHalf = native.flatMap { $0.completes ? $0.half(stripe, index) : nil }
        var spins = 0
        while true {
            var completed: UInt64 = 0
            for i in 0..<layout.bucketCount { completed &+= half[i].load(ordering: .acquiring) }
            if let nativeHalf, let native { completed &+= native.completed(nativeHalf) }
            if completed == count { return }
            spins += 1
            if spins > 64 { sched_yield() }
        }
    }

    /// Adds a quiet half's bucket counts and sum into another half and clears it; reports each
    /// bucket's count to `each` and returns the sum.
    @discardableResult
    private func fold(
        _ cold: UnsafeMutablePointer<Atomic<UInt64>>, into hot: UnsafeMutablePointer<Atomic<UInt64>>,
        _ each: (Int, UInt64) -> Void = { _, _ in }
    ) -> Double {
        let bucketCount = layout.bucketCount
        for i in 0..<bucketCount where cold[i].load(ordering: .relaxed) != 0 {
            let count = cold[i].exchange(0, ordering: .relaxed)
            each(i, count)
            hot[i].wrappingAdd(count, ordering: .releasing)
        }
        let coldSum = Double(bitPattern: cold[bucketCount].exchange(0, ordering: .relaxed))
        hot[bucketCount].add(double: coldSum)
        return coldSum
    }

    private func lastResetTime(_ native: NativeState) -> Double {
        Double(bitPattern: native.lastReset.load(ordering: .relaxed))
    }

    /// Keeps the number of native buckets within the limit (client_golang's strategy): reset
    /// when the last reset is old enough, else widen the zero bucket, else halve the resolution.
    /// Runs after an observation completed, under the collect lock.
    @usableFromInline
    @inline(never)
    func limitNativeBuckets(_ value: Double) {
        guard let native else { return }
        var repeatObservation = false
        layout.collectLock.withLock { _ in
            guard native.populated(stripes: Self.stripeCount) > UInt64(native.options.maxBucketCount) else { return }
            let now = WallClock.secondsSinceEpoch()
            if native.options.minResetDuration > .zero, now - lastResetTime(native) >= native.minResetSeconds {
                resetAll(native, now: now)
                repeatObservation = true  // as client_golang does, so the latest observation is not lost
                return
            }
            let hot = (0..<Self.stripeCount).map { stripe in
                native.half(stripe, Int(truncatingIfNeeded: storage[stripe * stripeStride].load(ordering: .relaxed) >> 63))
            }
            let schema = NativeState.schema(of: hot[0])
            let threshold = NativeState.threshold(of: hot[0])
            if threshold < native.options.maxZeroThreshold, let smallest = native.smallestKey(hot) {
                let widened = NativeSchema.upperBound(smallest, schema: schema)
                if widened <= native.options.maxZeroThreshold {
                    change(native, NativeState.Change(schema: schema, threshold: widened, intoZeroUpTo: smallest, halvings: 0))
                    return
                }
            }
            if schema > -4 {
                change(native, NativeState.Change(schema: schema - 1, threshold: threshold, intoZeroUpTo: nil, halvings: 1))
            }
        }
        if repeatObservation { observe(value) }
    }

    /// Applies new native parameters to every stripe: the quiet half (holding everything) is
    /// rebuilt and made hot again, then what the other half took meanwhile is folded in.
    private func change(_ native: NativeState, _ change: NativeState.Change) {
        for stripeIndex in 0..<Self.stripeCount {
            let stripe = storage + stripeIndex * stripeStride
            let first = stripe[0].wrappingAdd(1 << 63, ordering: .acquiringAndReleasing).newValue
            let all = Int(truncatingIfNeeded: (~first) >> 63)  // the half now cold: it holds everything
            let started = first & ~(1 << 63)
            waitQuiet(stripe: stripeIndex, half: all, completing: started)
            native.rebuild(native.half(stripeIndex, all), change)
            let second = stripe[0].wrappingAdd(1 << 63, ordering: .acquiringAndReleasing).newValue
            let meanwhile = 1 - all
            waitQuiet(stripe: stripeIndex, half: meanwhile, completing: (second & ~(1 << 63)) - started)
            fold(stripe + 1 + meanwhile * halfStride, into: stripe + 1 + all * halfStride)
            native.fold(native.half(stripeIndex, meanwhile), into: native.half(stripeIndex, all), change: change)
        }
        native.reduced.store(true, ordering: .relaxed)
    }

    /// Resets classic and native counts to an empty histogram created `now`.
    private func resetAll(_ native: NativeState, now: Double) {
        for stripeIndex in 0..<Self.stripeCount {
            let stripe = storage + stripeIndex * stripeStride
            var old = stripe[0].load(ordering: .relaxed)
            let empty = Int(truncatingIfNeeded: (~old) >> 63)
            native.clear(native.half(stripeIndex, empty), schema: native.initialSchema, threshold: native.options.zeroThreshold)
            while true {
                let (exchanged, current) = stripe[0].weakCompareExchange(
                    expected: old, desired: UInt64(empty) << 63, ordering: .acquiringAndReleasing)
                if exchanged { break }
                old = current
            }
            let full = 1 - empty
            let half = stripe + 1 + full * halfStride
            waitQuiet(stripe: stripeIndex, half: full, completing: old & ~(1 << 63))
            for i in 0..<halfStride { half[i].store(0, ordering: .relaxed) }
            native.clear(native.half(stripeIndex, full), schema: native.initialSchema, threshold: native.options.zeroThreshold)
        }
        native.lastReset.store(now.bitPattern, ordering: .relaxed)
        native.reduced.store(false, ordering: .relaxed)
    }

    /// Records one observation and an exemplar for it, such as `["trace_id": "…"]`, kept as
    /// the latest exemplar of the observation's bucket and rendered in OpenMetrics (never in
    /// text 0.0.4). A malformed or over-long label set is refused (`reason="invalid_exemplar"`);
    /// the observation still counts. Calls without an exemplar do not pay for this.
    public func observe(_ value: Double, exemplar labels: [String: String]) {
        observe(value)
        guard value.isFinite else { return }
        recordExemplar(labels, value: value, slot: layout.bucketIndex(value), slotCount: layout.bucketCount)
    }

    /// Records a duration in seconds, with an exemplar.
    public func observe(_ duration: Duration, exemplar labels: [String: String]) {
        let (seconds, attoseconds) = duration.components
        observe(Double(seconds) + Double(attoseconds) * 1e-18, exemplar: labels)
    }

    override func visit<V: SampleVisitor>(_ visitor: inout V) {
        collect { counts, total, sum, nativeBuckets in
            visitor.visit(
                HistogramSample(
                    labels: labelText, layout: layout, counts: UnsafeBufferPointer(counts), count: total, sum: sum,
                    hasClassicBuckets: native == nil || layout.bounds.count > 0, exemplars: recordedExemplars,
                    created: native.map { lastResetTime($0) } ?? created, native: nativeBuckets))
        }
    }
}

/// Helpers that build bucket bounds.
extension Histogram {
    /// The most bounds the bucket generators make (each bucket is a series per label set).
    public static let maxGeneratedBuckets = 1000

    /// `count` bounds (1 to ``maxGeneratedBuckets``) starting at `start`, each `width` above the
    /// previous. Throws when a bound would not be finite or not above the one before.
    public static func linearBuckets(start: Double, width: Double, count: Int) throws(MetricsKitError) -> [Double] {
        guard (1...maxGeneratedBuckets).contains(count), width > 0, start.isFinite, width.isFinite else {
            throw MetricsKitError(
                .invalidParameter, metric: "linearBuckets",
                reason:
                    "needs count from 1 to \(maxGeneratedBuckets) and a finite width > 0 (got start \(start), width \(width), count \(count))"
            )
        }
        return try generated((0..<count).map { start + Double($0) * width }, metric: "linearBuckets")
    }

    /// `count` bounds (1 to ``maxGeneratedBuckets``) starting at `start` (> 0), each `factor`
    /// (> 1) times the previous. Throws when a bound would overflow to infinity.
    public static func exponentialBuckets(start: Double, factor: Double, count: Int) throws(MetricsKitError)
        -> [Double]
    {
        guard (1...maxGeneratedBuckets).contains(count), start > 0, factor > 1, start.isFinite, factor.isFinite else {
            throw MetricsKitError(
                .invalidParameter, metric: "exponentialBuckets",
                reason:
                    "needs count from 1 to \(maxGeneratedBuckets), start > 0 and factor > 1 (got start \(start), factor \(factor), count \(count))"
            )
        }
        var bounds: [Double] = []
        var bound = start
        for _ in 0..<count {
            bounds.append(bound)
            bound *= factor
        }
        return try generated(bounds, metric: "exponentialBuckets")
    }

    /// Generated bounds, checked: all finite (a last one at +Inf is an overflow here, not the
    /// implied bucket), strictly ascending.
    private static func generated(_ bounds: [Double], metric: String) throws(MetricsKitError) -> [Double] {
        if let overflow = bounds.firstIndex(where: { !$0.isFinite }) {
            throw MetricsKitError(
                .invalidParameter, metric: metric,
                reason: "bound \(overflow + 1) of \(bounds.count) is not finite (\(bounds[overflow])); use fewer buckets")
        }
        return try validatedBuckets(bounds, metric: metric)
    }

    /// Validates bucket bounds: finite, strictly ascending; a trailing `+Inf` is dropped
    /// (it is always implied).
    static func validatedBuckets(_ buckets: [Double], metric: String) throws(MetricsKitError) -> [Double] {
        var bounds = buckets
        if bounds.last == .infinity { bounds.removeLast() }
        for (i, bound) in bounds.enumerated() {
            guard bound.isFinite else {
                throw MetricsKitError(
                    .invalidBuckets, metric: metric, reason: "bucket bound \(bound) is not finite (+Inf is implied)")
            }
            if i > 0 && bounds[i - 1] >= bound {
                throw MetricsKitError(
                    .invalidBuckets, metric: metric,
                    reason: bounds[i - 1] == bound
                        ? "bucket bound \(bound) appears twice"
                        : "bucket bounds must be sorted ascending (\(bounds[i - 1]) before \(bound))")
            }
        }
        return bounds
    }
}
