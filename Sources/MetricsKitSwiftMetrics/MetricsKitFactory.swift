import CoreMetrics
@_spi(Variants) import MetricsKit
import Synchronization

/// A swift-metrics backend that records into a MetricsKit registry, so libraries that emit
/// through apple/swift-metrics (Vapor, Hummingbird, gRPC Swift, AsyncHTTPClient, ...) show up
/// on the same `/metrics` page as the application's own metrics.
///
/// ```swift
/// import Metrics
/// import MetricsKit
/// import MetricsKitSwiftMetrics
///
/// let registry = MetricRegistry()
/// MetricsSystem.bootstrap(MetricsKitFactory(registry: registry))
/// ```
///
/// | swift-metrics | MetricsKit | name |
/// |---|---|---|
/// | `Counter`, `FloatingPointCounter` | counter | `<name>_total` |
/// | `Gauge`, `Meter`, `Recorder(aggregate: false)` | gauge | `<name>` |
/// | `Recorder` (aggregating) | histogram (``Configuration/recorderBuckets``) | `<name>` |
/// | `Timer` | histogram in ``Configuration/timerUnit`` (``Configuration/timerBuckets``) | `<name>_seconds` |
/// | dimensions | labels | |
/// | `destroy` | the series is removed | |
///
/// **Names.** The name is the ``Configuration/mapping`` hook's, when it gives one, or else the
/// swift-metrics label. Every character outside `[a-zA-Z0-9_:]` (in label names: outside
/// `[a-zA-Z0-9_]`) becomes `_`, a leading digit gets a `_` prefix, a label name starting with
/// `__` keeps one underscore, and `le` (histograms) or `quantile` get a trailing `_`; then
/// counters get `_total` and timers their unit (`_seconds`) unless the name ends with it
/// already: `http.server.requests` with `[("http.method", "GET")]` is
/// `http_server_requests_total{http_method="GET"}`, Vapor's `http_request_duration_seconds`
/// timer stays `http_request_duration_seconds`.
///
/// **Timers** are exported in seconds by default. ``Configuration/timerUnit`` changes that
/// for all timers; a timer created with `preferredDisplayUnit` (nanoseconds to seconds) is
/// exported in that unit while ``Configuration/honoursPreferredDisplayUnit`` is on (the
/// default). Such a timer's family appears with its first value.
///
/// **Conflicts never crash and lose nothing.** Dimension keys are taken as a set (their order
/// does not matter). The same name used with different key sets is one family whose series carry
/// different label names (valid in both text formats). A name taken by a metric of another kind
/// or by the application's own registration is exported with `_swift_metrics` before its
/// suffix (`orders_swift_metrics_total`, then `_swift_metrics_2`, `_3`): no type word, so
/// `promtool check metrics` finds nothing to report. If all of these are taken, updates go to a
/// series that is never exported.
public final class MetricsKitFactory: MetricsFactory, Sendable {
    /// Names, units and buckets of the metrics the backend creates.
    public struct Configuration: Sendable {
        /// Maps a swift-metrics label and dimensions to the Prometheus name and labels, or
        /// returns nil to keep the default (the label and dimensions, cleaned). Called for
        /// each handler swift-metrics makes. The result is cleaned and suffixed as the
        /// type's notes say (``MappedMetric/name``).
        ///
        /// ```swift
        /// configuration.mapping = { label, dimensions in
        ///     label == "hb.requests" ? MappedMetric(name: "http_server_requests", labels: dimensions) : nil
        /// }
        /// ```
        public var mapping: (@Sendable (_ label: String, _ dimensions: [(String, String)]) -> MappedMetric?)?
        /// The unit timers are exported in: `.seconds` by default.
        public var timerUnit: TimerUnit = .seconds
        /// Whether a timer's `preferredDisplayUnit` (nanoseconds to seconds; minutes and longer
        /// do not apply) chooses its unit instead of ``timerUnit``. Units other than seconds
        /// give names promtool's lint reports ("use base unit"); off keeps them all in
        /// ``timerUnit``.
        public var honoursPreferredDisplayUnit = true
        /// Bounds (seconds) of timers' histograms, converted to the timer's unit.
        public var timerBuckets: [Double] = MetricsKit.Histogram.defaultBuckets
        /// Bounds of aggregating recorders' histograms.
        public var recorderBuckets: [Double] = MetricsKit.Histogram.defaultBuckets
        /// Bounds for particular metrics, by swift-metrics label (for timers in seconds);
        /// these win over the defaults.
        public var buckets: [String: [Double]] = [:]

        /// The defaults: names from labels, timers in seconds, `Histogram.defaultBuckets`.
        public init() {}
    }

    /// The registry the backend records into.
    public let registry: MetricRegistry
    /// The names, units and buckets.
    public let configuration: Configuration

    private struct Key: Hashable {
        let name: String
        let kind: Naming.Kind
        let labelNames: [String]
    }

    /// Families already resolved, by cleaned name, kind and label names.
    private let families = Mutex<[Key: FamilyHandle]>([:])

    /// Creates a backend recording into `registry`.
    public init(registry: MetricRegistry = .default, configuration: Configuration = Configuration()) {
        self.registry = registry
        self.configuration = configuration
    }

    // MARK: MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let (family, values) = resolve(label, .counter, dimensions)
        return CounterBox(family.counter!, values: values)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        let (family, values) = resolve(label, .counter, dimensions)
        return CounterBox(family.counter!, values: values)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        let (family, values) = resolve(label, .gauge, dimensions)
        return GaugeBox(family.gauge!, values: values)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if aggregate {
            let (family, values) = resolve(label, .histogram, dimensions)
            return HistogramBox(family.histogram!, values: values)
        }
        let (family, values) = resolve(label, .gauge, dimensions)
        return GaugeBox(family.gauge!, values: values)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let timer = TimerBox(preferredUnits: configuration.honoursPreferredDisplayUnit, defaultUnit: configuration.timerUnit) {
            unit in
            let (family, values) = self.resolve(label, .timer(unit), dimensions)
            return TimerSeries(family.histogram!, values: values, unit: unit)
        }
        // Without preferred units the unit is known now: export the family at once, as the
        // other kinds do. With them, the first value or `preferDisplayUnit` settles it.
        if !configuration.honoursPreferredDisplayUnit { timer.settle(configuration.timerUnit) }
        return timer
    }

    public func destroyCounter(_ handler: any CounterHandler) { (handler as? Removable)?.remove() }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        (handler as? Removable)?.remove()
    }
    public func destroyMeter(_ handler: any MeterHandler) { (handler as? Removable)?.remove() }
    public func destroyRecorder(_ handler: any RecorderHandler) { (handler as? Removable)?.remove() }
    public func destroyTimer(_ handler: any TimerHandler) { (handler as? Removable)?.remove() }

    // MARK: Names and families

    /// The family for a label, kind and dimensions (mapped), and the label values in its order.
    private func resolve(_ label: String, _ kind: Naming.Kind, _ dimensions: [(String, String)]) -> (FamilyHandle, [String]) {
        let mapped = configuration.mapping?(label, dimensions)
        let histogram = kind != .counter && kind != .gauge
        let pairs = Naming.labelPairs(mapped?.labels ?? dimensions, histogram: histogram)
        let key = Key(name: Naming.metricName(mapped?.name ?? label), kind: kind, labelNames: pairs.map(\.0))
        let values = pairs.map(\.1)
        if let known = families.withLock({ $0[key] }) { return (known, values) }
        let family = register(key, help: "\(label) (swift-metrics)", buckets: buckets(label, kind))
        families.withLock { $0[key] = family }
        return (family, values)
    }

    /// The bounds for a histogram or timer: configured for the label, or the kind's default.
    private func buckets(_ label: String, _ kind: Naming.Kind) -> [Double] {
        switch kind {
        case .counter, .gauge: []
        case .histogram: configuration.buckets[label] ?? configuration.recorderBuckets
        case .timer(let unit): unit.bounds(fromSeconds: configuration.buckets[label] ?? configuration.timerBuckets)
        }
    }

    private func register(_ key: Key, help: String, buckets: [Double]) -> FamilyHandle {
        // Configured bounds that are not valid (unsorted, repeated, NaN) give way to the defaults.
        var defaults = MetricsKit.Histogram.defaultBuckets
        if case .timer(let unit) = key.kind { defaults = unit.bounds(fromSeconds: defaults) }
        let names = Naming.candidates(key.name, key.kind)
        for candidate in names {
            for bucketSet in [buckets, defaults] {
                if let family = try? make(candidate, help: help, key.kind, key.labelNames, bucketSet, in: registry) {
                    return family
                }
            }
        }
        // Every name taken by other definitions: keep callers working on series never exported,
        // in a registry of their own. Names and label names are clean by construction, so this
        // registration cannot fail; the fallbacks are only there so nothing can trap.
        let unexported = MetricRegistry()
        return (try? make(names[0], help: help, key.kind, key.labelNames, defaults, in: unexported))
            ?? (try! make("metricskit_unexported", help: help, key.kind, [], defaults, in: unexported))
    }

    private func make(
        _ name: String, help: String, _ kind: Naming.Kind, _ labelNames: [String], _ buckets: [Double],
        in registry: MetricRegistry
    ) throws -> FamilyHandle {
        switch kind {
        case .counter: FamilyHandle(counter: try registry.counterVariant(name, help: help, labelNames: labelNames))
        case .gauge: FamilyHandle(gauge: try registry.gaugeVariant(name, help: help, labelNames: labelNames))
        case .histogram, .timer:
            FamilyHandle(histogram: try registry.histogramVariant(name, help: help, labelNames: labelNames, buckets: buckets))
        }
    }
}

/// One resolved family, of whichever kind.
private struct FamilyHandle: Sendable {
    var counter: MetricFamily<MetricsKit.Counter>?
    var gauge: MetricFamily<MetricsKit.Gauge>?
    var histogram: MetricFamily<MetricsKit.Histogram>?
}

private protocol Removable {
    func remove()
}

/// A swift-metrics handler's series, and how to remove it on destroy.
private class SeriesBox<Series: MetricSeries>: Removable, @unchecked Sendable {
    let family: MetricFamily<Series>
    let values: [String]
    let series: Series

    init(_ family: MetricFamily<Series>, values: [String]) {
        self.family = family
        self.values = values
        self.series = family.labels(values)
    }

    func remove() { family.remove(values) }
}

private final class CounterBox: SeriesBox<MetricsKit.Counter>, CounterHandler, FloatingPointCounterHandler,
    @unchecked Sendable
{
    func increment(by amount: Int64) { series.increment(by: Int(truncatingIfNeeded: amount)) }
    func increment(by amount: Double) { series.increment(by: amount) }
    func reset() { series.reset() }
}

private final class GaugeBox: SeriesBox<MetricsKit.Gauge>, MeterHandler, RecorderHandler, @unchecked Sendable {
    func set(_ value: Int64) { series.set(Double(value)) }
    func set(_ value: Double) { series.set(value) }
    func increment(by amount: Double) { series.increment(by: amount) }
    func decrement(by amount: Double) { series.decrement(by: amount) }
    func record(_ value: Int64) { series.set(Double(value)) }
    func record(_ value: Double) { series.set(value) }
}

/// Recorders record as they are.
private final class HistogramBox: SeriesBox<MetricsKit.Histogram>, RecorderHandler, @unchecked Sendable {
    func record(_ value: Int64) { series.observe(Double(value)) }
    func record(_ value: Double) { series.observe(value) }
}

/// A timer's series in its unit: nanoseconds are observed divided by ``nanosecondsPerUnit``
/// (a division, so 30 ms is 0.03 s exactly as printed, not 0.030000000000000002).
private final class TimerSeries: SeriesBox<MetricsKit.Histogram>, @unchecked Sendable {
    let nanosecondsPerUnit: Double

    init(_ family: MetricFamily<MetricsKit.Histogram>, values: [String], unit: TimerUnit) {
        nanosecondsPerUnit = unit.nanoseconds
        super.init(family, values: values)
    }
}

/// A timer whose unit (and so its family) is settled once: by `preferDisplayUnit`, which
/// swift-metrics calls right after `makeTimer`, or else by the first value. Recording is one
/// atomic load once settled.
private final class TimerBox: TimerHandler, Removable, Sendable {
    private let preferredUnits: Bool
    private let resolve: @Sendable (TimerUnit) -> TimerSeries
    private let defaultUnit: TimerUnit
    private let settled = AtomicLazyReference<TimerSeries>()

    init(preferredUnits: Bool, defaultUnit: TimerUnit, resolve: @escaping @Sendable (TimerUnit) -> TimerSeries) {
        self.preferredUnits = preferredUnits
        self.defaultUnit = defaultUnit
        self.resolve = resolve
    }

    /// The series for `unit`, unless one is settled already (then that one).
    @discardableResult
    func settle(_ unit: TimerUnit) -> TimerSeries {
        // Two threads may both resolve: resolution is idempotent, one result is kept.
        settled.load() ?? settled.storeIfNil(resolve(unit))
    }

    func preferDisplayUnit(_ unit: TimeUnit) {
        guard preferredUnits, let unit = TimerUnit(unit) else { return }
        settle(unit)
    }

    func recordNanoseconds(_ duration: Int64) {
        let timer = settled.load() ?? settle(defaultUnit)
        timer.series.observe(Double(duration) / timer.nanosecondsPerUnit)
    }

    func remove() { settled.load()?.remove() }
}
