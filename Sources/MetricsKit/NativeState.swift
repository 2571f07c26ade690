import Synchronization

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
