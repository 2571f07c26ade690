/// The type of a metric family, as written on its `# TYPE` line.
public enum MetricType: String, Sendable, Equatable {
    /// A monotonically increasing value.
    case counter
    /// A value that goes up and down.
    case gauge
    /// Observations counted into cumulative buckets, with a sum and a count.
    case histogram
    /// A value whose type is not known (`untyped` in text 0.0.4, `unknown` in OpenMetrics).
    case untyped
    /// Facts about the target as labels of a sample whose value is always 1, such as a build's
    /// version (OpenMetrics `info`; a gauge in text 0.0.4 and protobuf). See ``MetricRegistry/info(_:help:labels:)``.
    /// A ``Collector``'s info family is named with `_info` at the end and its samples are 1.
    case info
    /// A set of named states, each on (1) or off (0), as one sample per state labeled with the
    /// metric's name (OpenMetrics `stateset`; gauges in text 0.0.4 and protobuf). See ``StateSet``.
    /// A ``Collector``'s state set family gives every sample a label named like the family.
    case stateset
}
