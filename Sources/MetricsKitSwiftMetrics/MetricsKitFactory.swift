import CoreMetrics
import MetricsKit
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
/// | swift-metrics | MetricsKit |
/// |---|---|
/// | `Counter`, `FloatingPointCounter` | counter (`_total` appended unless present) |
/// | `Gauge`, `Meter`, `Recorder(aggregate: false)` | gauge |
/// | `Recorder` (aggregating) | histogram (``Configuration/recorderBuckets``) |
/// | `Timer` | histogram of seconds (``Configuration/timerBuckets``) |
/// | dimensions | labels |
/// | `destroy` | the series is removed |
///
/// **Names.** swift-metrics labels often contain `.` and `-`. Every character outside
/// `[a-zA-Z0-9_:]` (in dimension keys: outside `[a-zA-Z0-9_]`) becomes `_`, a leading digit gets
/// a `_` prefix, a key starting with `__` keeps one underscore, and `le` (histograms) or
/// `quantile` keys get a trailing `_`: `http.server.requests` with `[("http.method", "GET")]`
/// is `http_server_requests_total{http_method="GET"}`.
///
/// **Conflicts never crash and lose nothing.** Dimension keys are taken as a set (their order
/// does not matter). The same name used with different key sets is one family whose series carry
/// different label names (valid in both text formats). The same name used for a different kind
/// of metric is exported as `<name>_<kind>` (`x_gauge`). If even that name is taken by something
/// the application registered, updates go to a series that is never exported.
public final class MetricsKitFactory: MetricsFactory, Sendable {
    /// Buckets for histograms the backend creates.
    public struct Configuration: Sendable {
        /// Bounds (seconds) of timers' histograms.
        public var timerBuckets: [Double] = MetricsKit.Histogram.defaultBuckets
        /// Bounds of aggregating recorders' histograms.
        public var recorderBuckets: [Double] = MetricsKit.Histogram.defaultBuckets
        /// Bounds for particular metrics, by swift-metrics label; these win over the defaults.
        public var buckets: [String: [Double]] = [:]

        /// The defaults: `Histogram.defaultBuckets` everywhere.
        public init() {}
    }

    /// The registry the backend records into.
    public let registry: MetricRegistry
    /// The bucket configuration.
    public let configuration: Configuration

    private enum Kind: String { case counter, gauge, histogram }
    private struct Key: Hashable {
        let label: String
        let kind: Kind
        let keys: [String]
    }

    /// Families already resolved, by swift-metrics label, kind and dimension keys.
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
            let (family, values) = resolve(label, .histogram, dimensions, buckets: configuration.recorderBuckets)
            return HistogramBox(family.histogram!, values: values)
        }
        let (family, values) = resolve(label, .gauge, dimensions)
        return GaugeBox(family.gauge!, values: values)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let (family, values) = resolve(label, .histogram, dimensions, buckets: configuration.timerBuckets)
        return HistogramBox(family.histogram!, values: values)
    }

    public func destroyCounter(_ handler: any CounterHandler) { (handler as? Removable)?.remove() }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        (handler as? Removable)?.remove()
    }
    public func destroyMeter(_ handler: any MeterHandler) { (handler as? Removable)?.remove() }
    public func destroyRecorder(_ handler: any RecorderHandler) { (handler as? Removable)?.remove() }
    public func destroyTimer(_ handler: any TimerHandler) { (handler as? Removable)?.remove() }

    // MARK: Names and families

    /// The family for a label, kind and dimension key set, and the label values in its order.
    private func resolve(
        _ label: String, _ kind: Kind, _ dimensions: [(String, String)], buckets: [Double] = []
    ) -> (FamilyHandle, [String]) {
        let pairs = Self.labelPairs(dimensions, histogram: kind == .histogram)
        let key = Key(label: label, kind: kind, keys: pairs.map(\.0))
        let values = pairs.map(\.1)
        if let known = families.withLock({ $0[key] }) { return (known, values) }
        let family = register(label, kind, labelNames: key.keys, buckets: configuration.buckets[label] ?? buckets)
        families.withLock { $0[key] = family }
        return (family, values)
    }

    private func register(_ label: String, _ kind: Kind, labelNames: [String], buckets: [Double]) -> FamilyHandle {
        var name = Self.metricName(label)
        if kind == .counter && !name.hasSuffix("_total") { name += "_total" }
        let help = "\(label) (swift-metrics)"
        // Configured bounds that are not valid (unsorted, repeated, NaN) give way to the defaults.
        let bounds = [buckets, MetricsKit.Histogram.defaultBuckets]
        for candidate in [name, name + "_" + kind.rawValue] {
            for bucketSet in bounds {
                if let family = try? make(candidate, help: help, kind, labelNames, bucketSet, in: registry) {
                    return family
                }
            }
        }
        // Both names taken by other definitions: keep callers working on series never exported,
        // in a registry of their own. Names and label names are clean by construction, so this
        // registration cannot fail; the last line is only there so nothing can trap.
        let unexported = MetricRegistry()
        return (try? make(name, help: help, kind, labelNames, MetricsKit.Histogram.defaultBuckets, in: unexported))
            ?? (try! make("metricskit_unexported", help: help, kind, [], MetricsKit.Histogram.defaultBuckets, in: unexported))
    }

    private func make(
        _ name: String, help: String, _ kind: Kind, _ labelNames: [String], _ buckets: [Double], in registry: MetricRegistry
    ) throws -> FamilyHandle {
        switch kind {
        case .counter: FamilyHandle(counter: try registry.counterVariant(name, help: help, labelNames: labelNames))
        case .gauge: FamilyHandle(gauge: try registry.gaugeVariant(name, help: help, labelNames: labelNames))
        case .histogram:
            FamilyHandle(histogram: try registry.histogramVariant(name, help: help, labelNames: labelNames, buckets: buckets))
        }
    }

    /// A metric name from a swift-metrics label: `[a-zA-Z0-9_:]` kept, the rest `_`.
    static func metricName(_ label: String) -> String {
        var name = String(label.unicodeScalars.map { isNameCharacter($0, colon: true) ? Character($0) : "_" })
        if name.isEmpty || name.first!.isNumber { name = "_" + name }
        return name
    }

    /// A label name from a dimension key: `[a-zA-Z0-9_]` kept, the rest `_`, and never reserved.
    static func labelName(_ key: String, histogram: Bool) -> String {
        var name = String(key.unicodeScalars.map { isNameCharacter($0, colon: false) ? Character($0) : "_" })
        if name.isEmpty || name.first!.isNumber { name = "_" + name }
        while name.hasPrefix("__") { name.removeFirst() }
        if name == "quantile" || (histogram && name == "le") { name += "_" }
        return name
    }

    /// Dimensions as label pairs sorted by name; keys that clean up to the same name get `_2`, `_3`.
    static func labelPairs(_ dimensions: [(String, String)], histogram: Bool) -> [(String, String)] {
        var used: Set<String> = []
        var pairs: [(String, String)] = []
        for (key, value) in dimensions.sorted(by: { $0.0 < $1.0 }) {
            let base = labelName(key, histogram: histogram)
            var name = base
            var suffix = 1
            while used.contains(name) {
                suffix += 1
                name = "\(base)_\(suffix)"
            }
            used.insert(name)
            pairs.append((name, value))
        }
        return pairs.sorted { $0.0 < $1.0 }
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar, colon: Bool) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_": true
        case ":": colon
        default: false
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

/// Recorders record as they are; timers record nanoseconds, observed as seconds.
private final class HistogramBox: SeriesBox<MetricsKit.Histogram>, RecorderHandler, TimerHandler, @unchecked Sendable {
    func record(_ value: Int64) { series.observe(Double(value)) }
    func record(_ value: Double) { series.observe(value) }
    func recordNanoseconds(_ duration: Int64) { series.observe(Double(duration) * 1e-9) }
}
