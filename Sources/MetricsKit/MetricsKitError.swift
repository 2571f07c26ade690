/// A mistake in how a metric is defined: thrown when a metric is registered, never on the hot path.
///
/// The ``description`` names the metric and says what is wrong, for example
/// `metric "http_requests_total": label name "le" is reserved in histograms`.
public struct MetricsKitError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of mistake this is.
    public enum Kind: String, Sendable, Equatable {
        /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
        case invalidMetricName
        /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
        case invalidLabelName
        /// A label name is reserved: `__` prefix, `le` in histograms, `quantile`.
        case reservedLabelName
        /// The same label name appears twice (variable or constant labels).
        case duplicateLabelName
        /// Histogram bucket bounds are not sorted, not unique, or not finite.
        case invalidBuckets
        /// A parameter such as a series limit or a bucket helper's argument is out of range.
        case invalidParameter
        /// The name is already registered with another type, help, labels or buckets,
        /// or collides with a sample name (`_bucket`, `_sum`, `_count`) of another metric.
        case conflictingRegistration
    }

    /// What kind of mistake this is.
    public let kind: Kind
    /// The metric the mistake concerns.
    public let metric: String
    /// What is wrong, in words.
    public let reason: String

    /// Creates an error.
    public init(_ kind: Kind, metric: String, reason: String) {
        self.kind = kind
        self.metric = metric
        self.reason = reason
    }

    /// `metric "<name>": <reason>`.
    public var description: String { "metric \"\(metric)\": \(reason)" }
}
