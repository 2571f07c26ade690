import Synchronization

/// A metric with labels: one series (a ``Counter``, ``Gauge`` or ``Histogram``) per label set.
///
/// ```swift
/// let requests = try registry.counter("http_requests_total", help: "Requests.",
///                                     labelNames: ["method", "path", "status"])
/// requests.labels("GET", "/", "200").increment()
/// ```
///
/// `labels(...)` takes the values positionally, in the order of ``labelNames``, and creates
/// the series on first use. The returned series can be kept and updated directly, which
/// skips the lookup. A lookup of an existing series hashes the values (no allocation) and
/// probes a table under a short lock.
///
/// **Cardinality.** A family holds at most ``seriesLimit`` series. A new label set beyond it
/// is not created: `labels(...)` returns a detached series that is never exported, existing
/// series keep working, and each refusal is counted in
/// `metricskit_rejected_updates_total{metric="<name>",reason="series_limit"}`. A call with the
/// wrong number of values is refused the same way (`reason="label_count"`). Nothing traps.
public final class MetricFamily<Series: MetricSeries>: Sendable {
    let descriptor: FamilyDescriptor
    private let makeSeries: @Sendable ([String]) -> Series
    private let detached: Series
    private let seed: UInt64
    /// Holds the series as their base class, so lookups run without generic metadata.
    private let table: Mutex<SeriesTable>

    /// The most series this family holds.
    public let seriesLimit: Int

    init(descriptor: FamilyDescriptor, seriesLimit: Int, makeSeries: @escaping @Sendable ([String]) -> Series) {
        self.descriptor = descriptor
        self.seriesLimit = seriesLimit
        self.makeSeries = makeSeries
        self.detached = makeSeries(descriptor.labelNames.map { _ in "" })
        self.seed = UInt64.random(in: .min ... .max)
        self.table = Mutex(SeriesTable())
    }

    /// The family's name.
    public var name: String { descriptor.name }
    /// The family's variable label names, in the order `labels(...)` takes their values.
    public var labelNames: [String] { descriptor.labelNames }
    /// The number of series the family holds now.
    public var seriesCount: Int { table.withLock { $0.count } }

    /// The series for one label value (families with one label).
    public func labels(_ value: String) -> Series {
        series(for: LabelValues1(a: value))
    }

    /// The series for two label values.
    public func labels(_ first: String, _ second: String) -> Series {
        series(for: LabelValues2(a: first, b: second))
    }

    /// The series for three label values.
    public func labels(_ first: String, _ second: String, _ third: String) -> Series {
        series(for: LabelValues3(a: first, b: second, c: third))
    }

    /// The series for four label values.
    public func labels(_ first: String, _ second: String, _ third: String, _ fourth: String) -> Series {
        series(for: LabelValues4(a: first, b: second, c: third, d: fourth))
    }

    /// The series for any number of label values.
    public func labels(_ values: String...) -> Series {
        series(for: values)
    }

    /// The series for the label values in `values`.
    public func labels(_ values: [String]) -> Series {
        series(for: values)
    }

    /// Removes the series with these label values; returns whether it existed. A removed
    /// series that is still referenced keeps accepting updates, which are no longer exported.
    @discardableResult
    public func remove(_ values: String...) -> Bool {
        remove(values)
    }

    /// Removes the series with the label values in `values`; returns whether it existed.
    @discardableResult
    public func remove(_ values: [String]) -> Bool {
        guard values.count == descriptor.labelNames.count else { return false }
        let hash = values.labelHash(seed: seed)
        return table.withLock { $0.remove(values, hash: hash) }
    }

    /// Removes every series.
    public func removeAll() {
        table.withLock { $0 = SeriesTable() }
    }

    /// All series, sorted by label values (byte order), as a scrape sees them.
    public var series: [Series] { table.withLock { $0.sortedSeries() }.map { unsafeDowncast($0, to: Series.self) } }

    @inline(__always)
    private func series<Values: LabelValueList>(for values: Values) -> Series {
        guard values.count == descriptor.labelNames.count else {
            descriptor.countRejection(.labelCount)
            return detached
        }
        let hash = values.labelHash(seed: seed)
        let found = table.withLock { table -> MetricSeries? in
            if let existing = table.find(values, hash: hash) { return existing }
            guard table.count < seriesLimit else { return nil }
            let created = makeSeries(values.array)
            table.insert(created, hash: hash)
            return created
        }
        guard let found else {
            descriptor.countRejection(.seriesLimit)
            return detached
        }
        return unsafeDowncast(found, to: Series.self)
    }
}

extension MetricFamily: RegisteredFamily {
    func render(into buffer: inout ByteSink) {
        let all = table.withLock { $0.sortedSeries() }
        buffer.append(descriptor.header)
        for series in all { series.render(into: &buffer) }
    }
}

/// What a registry keeps: something with a descriptor that renders itself.
protocol RegisteredFamily: AnyObject, Sendable {
    var descriptor: FamilyDescriptor { get }
    func render(into buffer: inout ByteSink)
}

// MARK: - Label value lists

/// Label values as passed to `labels(...)`, hashed and compared without building an array.
protocol LabelValueList {
    var count: Int { get }
    func labelHash(seed: UInt64) -> UInt64
    func matches(_ stored: [String]) -> Bool
    var array: [String] { get }
}

struct LabelValues1: LabelValueList {
    let a: String
    var count: Int { 1 }
    func labelHash(seed: UInt64) -> UInt64 { LabelHash.finish(LabelHash.mix(seed, a)) }
    func matches(_ stored: [String]) -> Bool { stored[0] == a }
    var array: [String] { [a] }
}

struct LabelValues2: LabelValueList {
    let a: String, b: String
    var count: Int { 2 }
    func labelHash(seed: UInt64) -> UInt64 { LabelHash.finish(LabelHash.mix(LabelHash.mix(seed, a), b)) }
    func matches(_ stored: [String]) -> Bool { stored[0] == a && stored[1] == b }
    var array: [String] { [a, b] }
}

struct LabelValues3: LabelValueList {
    let a: String, b: String, c: String
    var count: Int { 3 }
    func labelHash(seed: UInt64) -> UInt64 {
        LabelHash.finish(LabelHash.mix(LabelHash.mix(LabelHash.mix(seed, a), b), c))
    }
    func matches(_ stored: [String]) -> Bool { stored[0] == a && stored[1] == b && stored[2] == c }
    var array: [String] { [a, b, c] }
}

struct LabelValues4: LabelValueList {
    let a: String, b: String, c: String, d: String
    var count: Int { 4 }
    func labelHash(seed: UInt64) -> UInt64 {
        LabelHash.finish(LabelHash.mix(LabelHash.mix(LabelHash.mix(LabelHash.mix(seed, a), b), c), d))
    }
    func matches(_ stored: [String]) -> Bool {
        stored[0] == a && stored[1] == b && stored[2] == c && stored[3] == d
    }
    var array: [String] { [a, b, c, d] }
}

extension Array: LabelValueList where Element == String {
    func labelHash(seed: UInt64) -> UInt64 {
        var h = seed
        for value in self { h = LabelHash.mix(h, value) }
        return LabelHash.finish(h)
    }
    func matches(_ stored: [String]) -> Bool { self == stored }
    var array: [String] { self }
}

/// A fast seeded hash over the UTF-8 bytes of label values (8 bytes per step), with a
/// per-family random seed so that crafted label values cannot aim at one slot.
enum LabelHash {
    @inline(__always)
    static func mix(_ state: UInt64, _ value: String) -> UInt64 {
        if let hash = value.utf8.withContiguousStorageIfAvailable({ mix(state, $0) }) { return hash }
        var copy = value
        copy.makeContiguousUTF8()
        return copy.utf8.withContiguousStorageIfAvailable { mix(state, $0) }!
    }

    @inline(__always)
    static func mix(_ state: UInt64, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let count = bytes.count
        var h = (state ^ UInt64(truncatingIfNeeded: count)) &* k
        guard let p = UnsafeRawPointer(bytes.baseAddress), count > 0 else { return h }
        if count >= 8 {
            var offset = 0
            while offset + 8 < count {
                h = step(h, p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
            }
            // The last 8 bytes, overlapping the previous word when the count is not a multiple of 8.
            return step(h, p.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
        }
        let word: UInt64
        if count >= 4 {
            word = UInt64(p.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(p.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
        } else {
            word = UInt64(p.load(as: UInt8.self)) << 16 | UInt64(p.load(fromByteOffset: count >> 1, as: UInt8.self)) << 8
                | UInt64(p.load(fromByteOffset: count - 1, as: UInt8.self))
        }
        return step(h, word)
    }

    private static let k: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    private static func step(_ h: UInt64, _ word: UInt64) -> UInt64 {
        let m = (h ^ word).multipliedFullWidth(by: k)
        return m.high ^ m.low
    }

    @inline(__always)
    static func finish(_ state: UInt64) -> UInt64 {
        var h = state
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h | 1  // never 0: 0 marks an empty slot
    }
}

// MARK: - Series table

/// Open addressing with linear probing and backward-shift deletion; load factor <= 1/2.
/// Also caches the series sorted by label values for scrapes, rebuilt only after a change.
struct SeriesTable: ~Copyable {
    private var hashes: [UInt64] = Array(repeating: 0, count: 8)
    private var slots: [MetricSeries?] = Array(repeating: nil, count: 8)
    private var sorted: [MetricSeries]? = []
    private(set) var count = 0

    private var mask: Int { hashes.count - 1 }

    func find<Values: LabelValueList>(_ values: Values, hash: UInt64) -> MetricSeries? {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let h = hashes[i]
            if h == 0 { return nil }
            if h == hash, let series = slots[i], values.matches(series.labelValues) { return series }
            i = (i &+ 1) & mask
        }
    }

    mutating func insert(_ series: MetricSeries, hash: UInt64) {
        if (count + 1) * 2 > hashes.count { grow() }
        place(series, hash: hash)
        count += 1
        sorted = nil
    }

    private mutating func place(_ series: MetricSeries, hash: UInt64) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while hashes[i] != 0 { i = (i &+ 1) & mask }
        hashes[i] = hash
        slots[i] = series
    }

    private mutating func grow() {
        let oldHashes = hashes
        let oldSlots = slots
        hashes = Array(repeating: 0, count: oldHashes.count * 2)
        slots = Array(repeating: nil, count: oldHashes.count * 2)
        for i in oldHashes.indices where oldHashes[i] != 0 { place(oldSlots[i]!, hash: oldHashes[i]) }
    }

    mutating func remove(_ values: [String], hash: UInt64) -> Bool {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let h = hashes[i]
            if h == 0 { return false }
            if h == hash, let series = slots[i], values.matches(series.labelValues) { break }
            i = (i &+ 1) & mask
        }
        // Backward-shift: move later entries of the probe run into the hole.
        var hole = i
        var j = (i &+ 1) & mask
        while hashes[j] != 0 {
            let home = Int(truncatingIfNeeded: hashes[j]) & mask
            // Entry j may move to the hole if its home is not in (hole, j] cyclically.
            let distanceToJ = (j &- home) & mask
            let distanceToHole = (j &- hole) & mask
            if distanceToJ >= distanceToHole {
                hashes[hole] = hashes[j]
                slots[hole] = slots[j]
                hole = j
            }
            j = (j &+ 1) & mask
        }
        hashes[hole] = 0
        slots[hole] = nil
        count -= 1
        sorted = nil
        return true
    }

    /// The series ordered by label values, compared as UTF-8 bytes.
    mutating func sortedSeries() -> [MetricSeries] {
        if let sorted { return sorted }
        let result = slots.compactMap { $0 }.sorted { lhs, rhs in
            for (l, r) in zip(lhs.labelValues, rhs.labelValues) where l != r {
                return l.utf8.lexicographicallyPrecedes(r.utf8)
            }
            return false
        }
        sorted = result
        return result
    }
}
