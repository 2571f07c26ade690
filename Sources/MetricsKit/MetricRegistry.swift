import Synchronization

/// Holds metrics and renders them for a scrape.
///
/// ```swift
/// let registry = MetricRegistry()
/// let requests = try registry.counter("http_requests_total", help: "Total HTTP requests.",
///                                     labelNames: ["method", "path", "status"])
/// requests.labels("GET", "/", "200").increment()
/// var body: [UInt8] = []
/// registry.render(into: &body)   // text format 0.0.4
/// ```
///
/// **Registration** validates names (metric `[a-zA-Z_:][a-zA-Z0-9_:]*`, label
/// `[a-zA-Z_][a-zA-Z0-9_]*`; the `__` prefix, `quantile`, and `le` in histograms are
/// reserved) and throws ``MetricsKitError`` naming the metric. Registering exactly the same
/// definition again returns the metric already registered, so libraries may do it safely; the
/// same name with another type, help, label names, constant labels or buckets throws
/// ``MetricsKitError/Kind/conflictingRegistration``.
///
/// **Rendering** is deterministic: families sorted by name, series by label values.
///
/// **Self-metric.** Updates refused at run time are counted per family in
/// `metricskit_rejected_updates_total{metric, reason}` (`reason` is `series_limit`,
/// `label_count` or `invalid_value`). The family is rendered only once something was refused.
public final class MetricRegistry: Sendable {
    /// The process-wide registry, for code that has no registry handed to it.
    public static let `default` = MetricRegistry()

    /// The Content-Type of text format 0.0.4, which ``render(into:)`` writes.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The name of the self-metric counting refused updates.
    public static let rejectedUpdatesMetricName = "metricskit_rejected_updates_total"

    /// The series limit of families registered without one.
    public let defaultSeriesLimit: Int

    /// Whether OpenMetrics output carries `_created` samples for counters and histograms.
    public let openMetricsCreatedSamples: Bool

    private let state: Mutex<State>
    /// The sink the last scrape rendered into, kept so the next one reuses its memory.
    private let scratch = Mutex<ByteSink?>(nil)

    /// Creates an empty registry.
    /// - Parameters:
    ///   - defaultSeriesLimit: the most series a labeled family holds unless its
    ///     registration says otherwise (default 10,000).
    ///   - openMetricsCreatedSamples: whether OpenMetrics output carries `_created` samples
    ///     (the series' creation time) for counters and histograms (default true).
    public init(defaultSeriesLimit: Int = 10_000, openMetricsCreatedSamples: Bool = true) {
        self.defaultSeriesLimit = max(1, defaultSeriesLimit)
        self.openMetricsCreatedSamples = openMetricsCreatedSamples
        self.state = Mutex(State())
        let rejected = RejectedUpdatesFamily(registry: self)
        state.withLock { state in
            state.entries[Self.rejectedUpdatesMetricName] = .family(rejected)
            for name in rejected.descriptor.sampleNames { state.sampleOwners[name] = Self.rejectedUpdatesMetricName }
        }
    }

    // MARK: Counters

    /// Registers (or returns the already registered) counter without variable labels.
    public func counter(_ name: String, help: String, constLabels: [String: String] = [:])
        throws(MetricsKitError) -> Counter
    {
        try counter(name, help: help, labelNames: [], constLabels: constLabels).labels([])
    }

    /// Registers (or returns the already registered) labeled counter family.
    /// - Parameters:
    ///   - name: the metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; by convention it ends in `_total`.
    ///   - help: the HELP text.
    ///   - labelNames: the variable label names, in the order `labels(...)` takes their values.
    ///   - constLabels: labels with the same value on every series of the family.
    ///   - seriesLimit: the most series the family holds (default: the registry's).
    public func counter(
        _ name: String, help: String, labelNames: [String], constLabels: [String: String] = [:],
        seriesLimit: Int? = nil
    ) throws(MetricsKitError) -> MetricFamily<Counter> {
        try family(name, help: help, type: .counter, labelNames: labelNames, constLabels: constLabels,
                   seriesLimit: seriesLimit) { d, values in Counter(descriptor: d, labelValues: values) }
    }

    /// Registers a counter whose value `value` supplies at scrape time (it must not decrease).
    /// A negative, NaN or infinite result is not exported for that scrape and counted as
    /// `invalid_value`.
    public func counter(
        _ name: String, help: String, constLabels: [String: String] = [:],
        value: @escaping @Sendable () -> Double
    ) throws(MetricsKitError) {
        try registerCallback(name, help: help, type: .counter, constLabels: constLabels, value: value)
    }

    // MARK: Gauges

    /// Registers (or returns the already registered) gauge without variable labels.
    public func gauge(_ name: String, help: String, constLabels: [String: String] = [:])
        throws(MetricsKitError) -> Gauge
    {
        try gauge(name, help: help, labelNames: [], constLabels: constLabels).labels([])
    }

    /// Registers (or returns the already registered) labeled gauge family.
    public func gauge(
        _ name: String, help: String, labelNames: [String], constLabels: [String: String] = [:],
        seriesLimit: Int? = nil
    ) throws(MetricsKitError) -> MetricFamily<Gauge> {
        try family(name, help: help, type: .gauge, labelNames: labelNames, constLabels: constLabels,
                   seriesLimit: seriesLimit) { d, values in Gauge(descriptor: d, labelValues: values) }
    }

    /// Registers a gauge whose value `value` supplies at scrape time (queue depth, open files).
    public func gauge(
        _ name: String, help: String, constLabels: [String: String] = [:],
        value: @escaping @Sendable () -> Double
    ) throws(MetricsKitError) {
        try registerCallback(name, help: help, type: .gauge, constLabels: constLabels, value: value)
    }

    // MARK: Histograms

    /// Registers (or returns the already registered) histogram without variable labels.
    /// - Parameters:
    ///   - name: the metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`, with its unit (`_seconds`, `_bytes`).
    ///   - help: the HELP text.
    ///   - buckets: finite, strictly ascending upper bounds; `+Inf` is implied. With `native`
    ///     options, `[]` makes a native-only histogram.
    ///   - native: options for native buckets (exposed in protobuf; see ``NativeHistogramOptions``);
    ///     nil (the default) for a classic histogram only.
    ///   - constLabels: labels with the same value on every series.
    public func histogram(
        _ name: String, help: String, buckets: [Double] = Histogram.defaultBuckets,
        native: NativeHistogramOptions? = nil, constLabels: [String: String] = [:]
    ) throws(MetricsKitError) -> Histogram {
        try histogram(name, help: help, labelNames: [], buckets: buckets, native: native, constLabels: constLabels)
            .labels([])
    }

    /// Registers (or returns the already registered) labeled histogram family.
    /// - Parameters:
    ///   - name: the metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`, with its unit (`_seconds`, `_bytes`).
    ///   - help: the HELP text.
    ///   - labelNames: the variable label names, in the order `labels(...)` takes their values.
    ///   - buckets: finite, strictly ascending upper bounds; `+Inf` is implied. With `native`
    ///     options, `[]` makes a native-only histogram.
    ///   - native: options for native buckets (exposed in protobuf; see ``NativeHistogramOptions``);
    ///     nil (the default) for a classic histogram only.
    ///   - constLabels: labels with the same value on every series of the family.
    ///   - seriesLimit: the most series the family holds (default: the registry's).
    public func histogram(
        _ name: String, help: String, labelNames: [String], buckets: [Double] = Histogram.defaultBuckets,
        native: NativeHistogramOptions? = nil, constLabels: [String: String] = [:], seriesLimit: Int? = nil
    ) throws(MetricsKitError) -> MetricFamily<Histogram> {
        try histogram(
            name, help: help, labelNames: labelNames, buckets: buckets, native: native, constLabels: constLabels,
            seriesLimit: seriesLimit, variant: false)
    }

    private func histogram(
        _ name: String, help: String, labelNames: [String], buckets: [Double], native: NativeHistogramOptions?,
        constLabels: [String: String], seriesLimit: Int?, variant: Bool
    ) throws(MetricsKitError) -> MetricFamily<Histogram> {
        let bounds = try Histogram.validatedBuckets(buckets, metric: name)
        let native = try native?.validated(metric: name)
        let layout = BucketLayout(bounds: bounds)
        return try family(
            name, help: help, type: .histogram, labelNames: labelNames, constLabels: constLabels,
            buckets: bounds, native: native, seriesLimit: seriesLimit, variant: variant
        ) { d, values in Histogram(descriptor: d, labelValues: values, layout: layout, native: native) }
    }

    // MARK: Collectors and removal

    /// Registers a collector; its ``Collector/familyNames`` are validated and reserved like
    /// metric names.
    public func register(_ collector: some Collector) throws(MetricsKitError) {
        let names = collector.familyNames
        for name in names { try Names.validateMetricName(name) }
        let box = CollectorBox(collector: collector)
        try state.withLock { state throws(MetricsKitError) in
            for name in names {
                if let owner = state.sampleOwners[name] {
                    throw MetricsKitError(
                        .conflictingRegistration, metric: name, reason: "already registered (by \"\(owner)\")")
                }
            }
            for name in names {
                state.entries[name] = .collector(box)
                state.sampleOwners[name] = name
            }
            state.sorted = nil
        }
    }

    /// Removes the metric (or the collector producing the family) named `name`; returns
    /// whether anything was registered under it. References to its series stay valid, but
    /// their updates are no longer exported.
    @discardableResult
    public func unregister(_ name: String) -> Bool {
        state.withLock { state in
            guard name != Self.rejectedUpdatesMetricName, let entry = state.entries[name] else { return false }
            var names = [name]
            if case .collector(let box) = entry {
                names = state.entries.compactMap { key, value in
                    if case .collector(let other) = value, other === box { return key }
                    return nil
                }
            }
            for name in names {
                state.entries[name] = nil
                state.sampleOwners = state.sampleOwners.filter { $0.value != name }
            }
            state.sorted = nil
            return true
        }
    }

    // MARK: Rendering

    /// Appends every metric in text format 0.0.4 (``contentType``) to `buffer`.
    ///
    /// Reuse the buffer across scrapes (`removeAll(keepingCapacity: true)`): in steady state a
    /// scrape then allocates nothing per series.
    public func render(into buffer: inout [UInt8]) {
        render(.prometheusText, into: &buffer)
    }

    /// Appends every metric in `format` to `buffer` (see ``ExpositionFormat/contentType``).
    /// OpenMetrics output carries exemplars and `_created` samples and ends with `# EOF`;
    /// protobuf carries native histograms, exemplars and created timestamps.
    public func render(_ format: ExpositionFormat, into buffer: inout [UInt8]) {
        var sink = scratch.withLock { $0.take() } ?? ByteSink(capacity: 4096)
        render(format, into: &sink)
        buffer.append(contentsOf: sink.bytes)
        sink.removeAll()
        scratch.withLock { kept in
            // Keep one sink (the larger) for the next scrape; a concurrent scrape's goes away.
            if let previous = kept, previous.capacity >= sink.capacity {
                sink.release()
            } else {
                kept?.release()
                kept = sink
            }
        }
    }

    /// Renders into a sink: one pass over the sorted families through the format's encoder,
    /// no per-series allocation.
    func render(_ format: ExpositionFormat, into sink: inout ByteSink) {
        format.encode(self, into: &sink, createdSamples: openMetricsCreatedSamples)
    }

    /// Renders every metric in text format 0.0.4 as a `String`.
    public func render() -> String {
        render(.prometheusText)
    }

    /// Renders every metric in `format` as a `String`.
    public func render(_ format: ExpositionFormat) -> String {
        var buffer: [UInt8] = []
        render(format, into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The number of refused updates counted for a metric (all reasons), as exported in
    /// `metricskit_rejected_updates_total`.
    public func rejectedUpdates(of name: String) -> UInt64 {
        let entry = state.withLock { $0.entries[name] }
        guard case .family(let family) = entry else { return 0 }
        return RejectionReason.allCases.reduce(0) { $0 + family.rejections($1) }
    }

    // MARK: Label-name variants (for the swift-metrics backend)

    /// A counter family registered as a variant: the same name, help and type may be
    /// registered again with other label names, and all variants are exposed as one family.
    package func counterVariant(_ name: String, help: String, labelNames: [String]) throws(MetricsKitError)
        -> MetricFamily<Counter>
    {
        try family(name, help: help, type: .counter, labelNames: labelNames, constLabels: [:], seriesLimit: nil,
                   variant: true) { d, values in Counter(descriptor: d, labelValues: values) }
    }

    /// A gauge family registered as a variant (see ``counterVariant(_:help:labelNames:)``).
    package func gaugeVariant(_ name: String, help: String, labelNames: [String]) throws(MetricsKitError)
        -> MetricFamily<Gauge>
    {
        try family(name, help: help, type: .gauge, labelNames: labelNames, constLabels: [:], seriesLimit: nil,
                   variant: true) { d, values in Gauge(descriptor: d, labelValues: values) }
    }

    /// A histogram family registered as a variant (see ``counterVariant(_:help:labelNames:)``).
    package func histogramVariant(_ name: String, help: String, labelNames: [String], buckets: [Double])
        throws(MetricsKitError) -> MetricFamily<Histogram>
    {
        try histogram(name, help: help, labelNames: labelNames, buckets: buckets, native: nil, constLabels: [:],
                      seriesLimit: nil, variant: true)
    }

    // MARK: Internals

    /// Registers a family, or returns the one registered with the same definition. A variant
    /// may also join a family of the same name, type, help and buckets with other label names
    /// (the two are then kept in one ``VariantGroup``).
    func family<Series: MetricSeries>(
        _ name: String, help: String, type: MetricType, labelNames: [String], constLabels: [String: String],
        buckets: [Double] = [], native: NativeHistogramOptions? = nil, states: [String] = [], seriesLimit: Int?,
        variant: Bool = false,
        makeSeries: @escaping @Sendable (FamilyDescriptor, [String]) -> Series
    ) throws(MetricsKitError) -> MetricFamily<Series> {
        try Names.validateMetricName(name)
        try Names.validateLabelNames(labelNames, constLabels: constLabels, metric: name, type: type)
        if let seriesLimit, seriesLimit < 1 {
            throw MetricsKitError(.invalidParameter, metric: name, reason: "series limit must be at least 1")
        }
        let descriptor = FamilyDescriptor(
            name: name, help: help, type: type, labelNames: labelNames, constLabels: constLabels, buckets: buckets,
            native: native, states: states)
        return try state.withLock { state throws(MetricsKitError) -> MetricFamily<Series> in
            let make = {
                let family = MetricFamily(descriptor: descriptor, seriesLimit: seriesLimit ?? self.defaultSeriesLimit) {
                    values in makeSeries(descriptor, values)
                }
                if labelNames.isEmpty { _ = family.labels([]) }  // an unlabeled metric exports 0 from the start
                return family
            }
            if variant, case .family(let registered) = state.entries[name] {
                let members = (registered as? VariantGroup)?.members.withLock { $0 } ?? [registered]
                if !members.contains(where: { $0.descriptor.hasSameDefinition(as: descriptor) }) {
                    let first = members[0].descriptor
                    guard first.type == type, first.help == help, first.buckets == buckets, first.constLabels.isEmpty,
                        registered is VariantGroup || registered is MetricFamily<Series>
                    else {
                        throw MetricsKitError(
                            .conflictingRegistration, metric: name,
                            reason: "already registered with a different definition (\(first.summary)); "
                                + "asked for \(descriptor.summary)")
                    }
                    let family = make()
                    if let group = registered as? VariantGroup {
                        group.members.withLock { $0.append(family) }
                    } else {
                        state.entries[name] = .family(VariantGroup([registered, family]))
                    }
                    state.sorted = nil
                    return family
                }
            }
            if let existing = try state.existing(descriptor) {
                guard let family = existing as? MetricFamily<Series> else {
                    throw MetricsKitError(
                        .conflictingRegistration, metric: name, reason: "already registered as another kind of metric")
                }
                return family
            }
            let family = make()
            try state.add(.family(family), descriptor: descriptor)
            return family
        }
    }

    private func registerCallback(
        _ name: String, help: String, type: MetricType, constLabels: [String: String],
        value: @escaping @Sendable () -> Double
    ) throws(MetricsKitError) {
        try Names.validateMetricName(name)
        try Names.validateLabelNames([], constLabels: constLabels, metric: name, type: type)
        let descriptor = FamilyDescriptor(name: name, help: help, type: type, labelNames: [], constLabels: constLabels)
        try state.withLock { state throws(MetricsKitError) in
            if try state.existing(descriptor) != nil {
                throw MetricsKitError(
                    .conflictingRegistration, metric: name, reason: "already registered; a callback metric is registered once")
            }
            try state.add(.family(CallbackFamily(descriptor: descriptor, value: value)), descriptor: descriptor)
        }
    }

    /// Registers a family whose samples are fixed at registration (an info), or does nothing
    /// when one of the same definition is registered.
    func registerFixed(_ family: any RegisteredFamily) throws(MetricsKitError) {
        try state.withLock { state throws(MetricsKitError) in
            if try state.existing(family.descriptor) != nil { return }
            try state.add(.family(family), descriptor: family.descriptor)
        }
    }

    enum Entry {
        case family(any RegisteredFamily)
        case collector(CollectorBox)
    }

    final class CollectorBox: Sendable {
        let collector: any Collector
        init(collector: any Collector) { self.collector = collector }
    }

    struct State: ~Copyable {
        var entries: [String: Entry] = [:]
        /// Every sample name in use (a histogram's `_bucket`, `_sum`, `_count` too), and the
        /// family that uses it.
        var sampleOwners: [String: String] = [:]
        var sorted: [(String, Entry)]? = nil

        /// The family registered under this descriptor's name when its definition is the same;
        /// nil when the name is free; throws when the name is taken by something else.
        func existing(_ descriptor: FamilyDescriptor) throws(MetricsKitError) -> (any RegisteredFamily)? {
            let name = descriptor.name
            if case .family(let registered) = entries[name] {
                let members = (registered as? VariantGroup)?.members.withLock { $0 } ?? [registered]
                guard let family = members.first(where: { $0.descriptor.hasSameDefinition(as: descriptor) }) else {
                    throw MetricsKitError(
                        .conflictingRegistration, metric: name,
                        reason: "already registered with a different definition (\(members[0].descriptor.summary)); "
                            + "asked for \(descriptor.summary)")
                }
                return family
            }
            for sample in descriptor.sampleNames {
                if let owner = sampleOwners[sample] {
                    throw MetricsKitError(
                        .conflictingRegistration, metric: name,
                        reason: owner == sample
                            ? "the name \"\(sample)\" is already registered"
                            : "the sample name \"\(sample)\" is already used by \"\(owner)\"")
                }
            }
            return nil
        }

        mutating func add(_ entry: Entry, descriptor: FamilyDescriptor) throws(MetricsKitError) {
            entries[descriptor.name] = entry
            for sample in descriptor.sampleNames { sampleOwners[sample] = descriptor.name }
            sorted = nil
        }

        mutating func sortedEntries() -> [(String, Entry)] {
            if let sorted { return sorted }
            let result = entries.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value) }
            sorted = result
            return result
        }
    }
}

extension MetricRegistry: SampleSource {
    /// Hands every family to `visitor`, sorted by name; a collector is asked once per scrape.
    func visit<V: SampleVisitor>(_ visitor: inout V) {
        visit(&visitor, only: nil)
    }

    /// Hands the families `filter` selects (all when nil) to `visitor`, sorted by name; a
    /// collector is asked once per scrape, and only when one of its families is selected.
    func visit<V: SampleVisitor>(_ visitor: inout V, only filter: NameFilter?) {
        let entries = state.withLock { $0.sortedEntries() }
        var collected: [ObjectIdentifier: [CollectedFamily]] = [:]
        for (name, entry) in entries where filter?.selects(name) ?? true {
            switch entry {
            case .family(let family):
                family.visit(&visitor)
            case .collector(let box):
                let id = ObjectIdentifier(box)
                if collected[id] == nil { collected[id] = box.collector.collect() }
                collected[id]?.first { $0.name == name }?.visit(&visitor)
            }
        }
    }

    /// The registered entries sorted by name (a cached array), for the self-metric.
    var entries: [(String, Entry)] {
        state.withLock { $0.sortedEntries() }
    }
}

extension FamilyDescriptor {
    /// A short description of the definition, for conflict messages.
    var summary: String {
        var text = "\(type.rawValue), help \"\(help)\", labels \(labelNames)"
        if !constLabels.isEmpty { text += ", const labels \(constLabels.map { "\($0.name)=\($0.value)" })" }
        if type == .histogram { text += ", buckets \(buckets)" }
        if type == .stateset { text += ", states \(states)" }
        if let native {
            text += ", native factor \(native.bucketFactor) zero threshold \(native.zeroThreshold) max buckets \(native.maxBucketCount)"
        }
        return text
    }
}
