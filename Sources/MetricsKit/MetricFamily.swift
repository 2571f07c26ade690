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
/// skips the lookup. A lookup of an existing series hashes the values and probes a table
/// under a short lock, without allocating.
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
    private let labelCount: Int
    /// Holds the series as their base class, so lookups run without generic metadata.
    private let table: Mutex<SeriesTable>

    /// The most series this family holds.
    public let seriesLimit: Int

    init(descriptor: FamilyDescriptor, seriesLimit: Int, makeSeries: @escaping @Sendable ([String]) -> Series) {
        self.descriptor = descriptor
        self.seriesLimit = seriesLimit
        self.makeSeries = makeSeries
        self.labelCount = descriptor.labelNames.count
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
        guard labelCount == 1 else { return refuseLabelCount() }
        let hash = LabelHash.finish(LabelHash.mix(seed, value))
        return lookup(hash) { $0.match(value) } values: { [value] }
    }

    /// The series for two label values.
    public func labels(_ first: String, _ second: String) -> Series {
        guard labelCount == 2 else { return refuseLabelCount() }
        let hash = LabelHash.finish(LabelHash.mix(LabelHash.mix(seed, first), second))
        return lookup(hash) { $0.match(first) && $0.match(second) } values: { [first, second] }
    }

    /// The series for three label values.
    public func labels(_ first: String, _ second: String, _ third: String) -> Series {
        guard labelCount == 3 else { return refuseLabelCount() }
        let hash = LabelHash.finish(LabelHash.mix(LabelHash.mix(LabelHash.mix(seed, first), second), third))
        return lookup(hash) { $0.match(first) && $0.match(second) && $0.match(third) } values: {
            [first, second, third]
        }
    }

    /// The series for four label values.
    public func labels(_ first: String, _ second: String, _ third: String, _ fourth: String) -> Series {
        guard labelCount == 4 else { return refuseLabelCount() }
        let hash = LabelHash.finish(
            LabelHash.mix(LabelHash.mix(LabelHash.mix(LabelHash.mix(seed, first), second), third), fourth))
        return lookup(hash) { $0.match(first) && $0.match(second) && $0.match(third) && $0.match(fourth) } values: {
            [first, second, third, fourth]
        }
    }

    /// The series for any number of label values.
    public func labels(_ values: String...) -> Series {
        labels(values)
    }

    /// The series for the label values in `values`.
    public func labels(_ values: [String]) -> Series {
        guard values.count == labelCount else { return refuseLabelCount() }
        return lookup(LabelHash.hash(values, seed: seed)) { $0.match(values) } values: { values }
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
        guard values.count == labelCount else { return false }
        let hash = LabelHash.hash(values, seed: seed)
        return table.withLock { $0.remove(hash: hash) { $0.match(values) } }
    }

    /// Removes every series.
    public func removeAll() {
        table.withLock { $0 = SeriesTable() }
    }

    /// All series, sorted by label values (byte order), as a scrape sees them.
    public var series: [Series] { table.withLock { $0.sortedSeries() }.map { unsafeDowncast($0, to: Series.self) } }

    /// Finds the series whose raw values `matches` accepts, or creates it from `values()`.
    @inline(__always)
    private func lookup(
        _ hash: UInt64, _ matches: (inout SeriesKey.Cursor) -> Bool, values: () -> [String]
    ) -> Series {
        let found = table.withLock { table -> MetricSeries? in
            if let existing = table.find(hash: hash, matches) { return existing }
            guard table.count < seriesLimit else { return nil }
            let created = makeSeries(values())
            table.insert(created, hash: hash)
            return created
        }
        guard let found else {
            descriptor.countRejection(.seriesLimit)
            return detached
        }
        return unsafeDowncast(found, to: Series.self)
    }

    private func refuseLabelCount() -> Series {
        descriptor.countRejection(.labelCount)
        return detached
    }
}

extension MetricFamily: RegisteredFamily {
    func visitSeries<V: SampleVisitor>(_ visitor: inout V) {
        let all = table.withLock { $0.sortedSeries() }
        for series in all { series.visit(&visitor) }
    }
}

/// What a registry keeps: a family that hands its samples to a visitor.
protocol RegisteredFamily: AnyObject, Sendable {
    var descriptor: FamilyDescriptor { get }
    /// Hands the family to `visitor`: metadata, samples, end.
    func visit<V: SampleVisitor>(_ visitor: inout V)
    /// Hands only the samples (a variant group gathers its members' under one header).
    func visitSeries<V: SampleVisitor>(_ visitor: inout V)
    /// Updates refused for `reason`.
    func rejections(_ reason: RejectionReason) -> UInt64
}

extension RegisteredFamily {
    func visit<V: SampleVisitor>(_ visitor: inout V) {
        descriptor.withMetadata { metadata in
            visitor.beginFamily(metadata)
            visitSeries(&visitor)
            visitor.endFamily()
        }
    }

    func rejections(_ reason: RejectionReason) -> UInt64 { descriptor.rejections(reason) }
}

/// Families of one name, type, help and buckets but different label names, exposed as one
/// family (valid in every format): how the swift-metrics backend keeps a metric whose
/// dimension keys differ between call sites without losing either.
final class VariantGroup: RegisteredFamily {
    let members: Mutex<[any RegisteredFamily]>
    let descriptor: FamilyDescriptor

    init(_ members: [any RegisteredFamily]) {
        self.descriptor = members[0].descriptor
        self.members = Mutex(members)
    }

    func visitSeries<V: SampleVisitor>(_ visitor: inout V) {
        for member in members.withLock({ $0 }) { member.visitSeries(&visitor) }
    }

    func rejections(_ reason: RejectionReason) -> UInt64 {
        members.withLock { $0 }.reduce(0) { $0 + $1.descriptor.rejections(reason) }
    }
}

/// A fast seeded hash over the UTF-8 bytes of label values (8 bytes per step), with a
/// per-family random seed so that crafted label values cannot aim at one slot.
enum LabelHash {
    static func hash(_ values: [String], seed: UInt64) -> UInt64 {
        var h = seed
        for value in values { h = mix(h, value) }
        return finish(h)
    }

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

