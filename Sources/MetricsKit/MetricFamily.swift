import Synchronization

/// A metric with labels: one series (a ``Counter``, ``Gauge``, ``Histogram`` or ``StateSet``) per label set.
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
        // `all` holds every series until the visit ends: no retain and release per series.
        all.withUnsafeBufferPointer { series in
            for index in series.indices {
                Unmanaged.passUnretained(series[index])._withUnsafeGuaranteedRef { $0.visit(&visitor) }
            }
        }
    }
}
