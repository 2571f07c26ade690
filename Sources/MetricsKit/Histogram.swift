import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bucket bounds shared by every series of a histogram family, kept in one contiguous
/// buffer so `observe` scans them without retain/release or bounds checks.
@usableFromInline
final class BucketLayout: @unchecked Sendable {
    /// Finite upper bounds, ascending; the `+Inf` bucket is implied after them.
    @usableFromInline let bounds: UnsafeMutableBufferPointer<Double>
    /// Number of buckets including `+Inf`.
    @usableFromInline let bucketCount: Int
    /// For each bucket, `le="<bound>"} ` as rendered in text 0.0.4 (`+Inf` last), then the
    /// same in OpenMetrics' canonical spelling (`le="1.0"`), laid end to end; bucket `i` of
    /// format `f` spans `leOffsets[f * (bucketCount + 1) + i]..<…[… + i + 1]`.
    private let leText: UnsafeMutableBufferPointer<UInt8>
    private let leOffsets: UnsafeMutableBufferPointer<Int>
    /// Serializes scrapes of the family's histograms (the hot/cold swap below).
    let collectLock = Mutex<Void>(())

    init(bounds: [Double]) {
        self.bounds = UnsafeMutableBufferPointer.allocate(capacity: max(bounds.count, 1))
        _ = self.bounds.initialize(from: bounds)
        self.bucketCount = bounds.count + 1
        var offsets: [Int] = []
        let text = ByteSink.bytes { text in
            for canonical in [false, true] {
                offsets.append(text.count)
                for bound in bounds + [.infinity] {
                    text.append(Array(#"le=""#.utf8))
                    if bound.isInfinite {
                        text.append("+Inf")
                    } else if canonical {
                        TextWriter.appendCanonical(bound, to: &text)
                    } else {
                        TextWriter.append(bound, to: &text)
                    }
                    text.append(Array(#""} "#.utf8))
                    offsets.append(text.count)
                }
            }
        }
        self.leText = .allocate(capacity: text.count)
        _ = leText.initialize(from: text)
        self.leOffsets = .allocate(capacity: offsets.count)
        _ = leOffsets.initialize(from: offsets)
    }

    deinit {
        bounds.deallocate()
        leText.deallocate()
        leOffsets.deallocate()
    }

    /// `le="<bound>"} ` of bucket `i` in `format`.
    @inline(__always)
    func leSuffix(_ i: Int, _ format: ExpositionFormat) -> UnsafeBufferPointer<UInt8> {
        let first = (format == .openMetrics ? bucketCount + 1 : 0) + i
        return UnsafeBufferPointer(rebasing: UnsafeBufferPointer(leText)[leOffsets[first]..<leOffsets[first + 1]])
    }

    /// Index of the first bucket whose bound is >= value (`bounds.count` for `+Inf`).
    @inlinable @inline(__always)
    func bucketIndex(_ value: Double) -> Int {
        let count = bounds.count
        let base = bounds.baseAddress.unsafelyUnwrapped
        if count <= 16 {
            var i = 0
            while i < count && base[i] < value { i &+= 1 }
            return i
        }
        var low = 0
        var high = count
        while low < high {
            let mid = (low &+ high) >> 1
            if base[mid] < value { low = mid &+ 1 } else { high = mid }
        }
        return low
    }
}

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

    init(descriptor: FamilyDescriptor, labelValues: [String], layout: BucketLayout) {
        self.layout = layout
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
        let stripe = storage + (Int(truncatingIfNeeded: currentCPU()) & Self.stripeMask) &* stripeStride
        let started = stripe[0].wrappingAdd(1, ordering: .relaxed).oldValue
        let half = stripe + 1 + Int(truncatingIfNeeded: started >> 63) &* halfStride
        let sum = half + (halfStride &- 1)
        var current = sum.pointee.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + value).bitPattern
            let (exchanged, original) = sum.pointee.weakCompareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        half[bucket].wrappingAdd(1, ordering: .releasing)
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
        collect { counts, total, sum in
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
    /// non-cumulative bucket counts, observation count and sum.
    func collect<R>(_ body: (UnsafeMutableBufferPointer<UInt64>, UInt64, Double) -> R) -> R {
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
                    var spins = 0
                    while true {
                        var completed: UInt64 = 0
                        for i in 0..<bucketCount { completed &+= cold[i].load(ordering: .acquiring) }
                        if completed == started { break }
                        spins += 1
                        if spins > 64 { sched_yield() }
                    }
                    total &+= started
                    // Fold the cold half into the totals and into the hot one, and clear it.
                    for i in 0..<bucketCount where cold[i].load(ordering: .relaxed) != 0 {
                        let count = cold[i].exchange(0, ordering: .relaxed)
                        counts[i] &+= count
                        hot[i].wrappingAdd(count, ordering: .releasing)
                    }
                    let coldSum = Double(bitPattern: cold[bucketCount].exchange(0, ordering: .relaxed))
                    sum += coldSum
                    var current = hot[bucketCount].load(ordering: .relaxed)
                    while true {
                        let next = (Double(bitPattern: current) + coldSum).bitPattern
                        let (exchanged, original) = hot[bucketCount].weakCompareExchange(
                            expected: current, desired: next, ordering: .relaxed)
                        if exchanged { break }
                        current = original
                    }
                }
            }
            return body(counts, total, sum)
        }
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

    override func render(into buffer: inout ByteSink, _ options: RenderOptions) {
        let d = descriptor
        let exemplars = options.isOpenMetrics ? recordedExemplars?.snapshot() : nil
        d.bucketNameBytes.withUnsafeBufferPointer { bucketName in
            do {
                let labels = SeriesKey.labelText(key)
                collect { counts, total, sum in
                    var cumulative: UInt64 = 0
                    for i in 0..<layout.bucketCount {
                        cumulative &+= counts[i]
                        buffer.append(bucketName)
                        buffer.append(UInt8(ascii: "{"))
                        if !labels.isEmpty {
                            buffer.append(labels)
                            buffer.append(UInt8(ascii: ","))
                        }
                        buffer.append(layout.leSuffix(i, options.format))
                        TextWriter.append(cumulative, to: &buffer)
                        if let exemplar = exemplars?[i] { TextWriter.append(exemplar, to: &buffer) }
                        buffer.append(TextWriter.newline)
                    }
                    appendSamplePrefix(d.sumNameBytes, labelText: labels, into: &buffer)
                    TextWriter.append(sum, to: &buffer)
                    buffer.append(TextWriter.newline)
                    appendSamplePrefix(d.countNameBytes, labelText: labels, into: &buffer)
                    TextWriter.append(total, to: &buffer)
                    buffer.append(TextWriter.newline)
                }
            }
        }
        if options.isOpenMetrics && options.createdSamples { appendCreated(into: &buffer) }
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
