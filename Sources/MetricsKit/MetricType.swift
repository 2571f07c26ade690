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
}
