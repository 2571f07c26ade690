import CoreMetrics

/// The Prometheus name and labels a mapping hook gives a swift-metrics metric
/// (``MetricsKitFactory/Configuration/mapping``).
public struct MappedMetric: Sendable {
    /// The metric name without type or unit suffix: the backend appends `_total` to counters
    /// and the unit (`_seconds`) to timers unless the name already ends with it.
    public var name: String
    /// The labels, in any order.
    public var labels: [(String, String)]

    /// A name and its labels.
    public init(name: String, labels: [(String, String)]) {
        self.name = name
        self.labels = labels
    }
}

/// The unit a swift-metrics `Timer` is exported in, which its name ends with.
public enum TimerUnit: Sendable, Hashable, CaseIterable {
    /// Seconds (`_seconds`), Prometheus' base unit: the default, and the only unit
    /// `promtool check metrics` accepts without a finding.
    case seconds
    /// Milliseconds (`_milliseconds`).
    case milliseconds
    /// Microseconds (`_microseconds`).
    case microseconds
    /// Nanoseconds (`_nanoseconds`).
    case nanoseconds

    /// The name suffix: `_seconds`, `_milliseconds`, ...
    public var suffix: String {
        switch self {
        case .seconds: "_seconds"
        case .milliseconds: "_milliseconds"
        case .microseconds: "_microseconds"
        case .nanoseconds: "_nanoseconds"
        }
    }

    /// Nanoseconds in one unit.
    var nanoseconds: Double {
        switch self {
        case .seconds: 1e9
        case .milliseconds: 1e6
        case .microseconds: 1e3
        case .nanoseconds: 1
        }
    }

    /// The unit of a swift-metrics `preferredDisplayUnit`, where one applies: nanoseconds to
    /// seconds map to themselves; minutes, hours and days have no Prometheus unit and give nil.
    init?(_ unit: TimeUnit) {
        switch unit {
        case .seconds: self = .seconds
        case .milliseconds: self = .milliseconds
        case .microseconds: self = .microseconds
        case .nanoseconds: self = .nanoseconds
        default: return nil
        }
    }

    /// Histogram bounds given in seconds, in this unit (whole nanoseconds stay exact:
    /// 0.025 s is `25` ms, not `25.000000000000004`).
    func bounds(fromSeconds seconds: [Double]) -> [Double] {
        guard self != .seconds else { return seconds }
        return seconds.map { bound in
            let inNanoseconds = bound * 1e9
            return (inNanoseconds >= 1 && inNanoseconds < 1e18 ? inNanoseconds.rounded() : inNanoseconds) / nanoseconds
        }
    }
}

/// How swift-metrics labels and dimensions become Prometheus names and label names.
enum Naming {
    /// What a swift-metrics metric becomes, which names the registry's family.
    enum Kind: Hashable {
        case counter, gauge, histogram
        case timer(TimerUnit)

        /// The suffix the exported name ends with.
        var suffix: String {
            switch self {
            case .counter: "_total"
            case .gauge, .histogram: ""
            case .timer(let unit): unit.suffix
            }
        }
    }

    /// The names to try for a family, in order: `<stem><suffix>`, then with `_swift_metrics`
    /// (then `_swift_metrics_2`, `_3`) before the suffix: `orders_swift_metrics_total`. None
    /// carries a type word (`counter`, `gauge`, ...), which `promtool check metrics` reports.
    static func candidates(_ name: String, _ kind: Kind) -> [String] {
        let suffix = kind.suffix
        let stem = suffix.isEmpty || !name.hasSuffix(suffix) ? name : String(name.dropLast(suffix.count))
        let qualified = stem + "_swift_metrics"
        return [stem + suffix, qualified + suffix, qualified + "_2" + suffix, qualified + "_3" + suffix]
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
