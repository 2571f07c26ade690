import MetricsKit

/// A histogram series as a test reads it: its count, sum and cumulative buckets.
public struct HistogramValue: Sendable, Hashable {
    /// `_count`.
    public var count: Double
    /// `_sum`.
    public var sum: Double
    /// Each `le` bound (`+Inf` last) and its cumulative count, in increasing order.
    public var buckets: [Bucket]

    /// One cumulative bucket.
    public struct Bucket: Sendable, Hashable {
        /// The `le` bound.
        public var upperBound: Double
        /// Observations at or below it.
        public var count: Double
    }
}

extension Exposition {
    /// The value of the sample named `name` with exactly `labels` (a counter's `…_total`, a
    /// gauge, an untyped sample, or a histogram's `…_count`), or nil when there is none.
    ///
    /// ```swift
    /// #expect(exposition.value(of: "http_requests_total", labels: ["method": "GET"]) == 3)
    /// ```
    public func value(of name: String, labels: [String: String] = [:]) -> Double? {
        for family in families {
            if let sample = family.samples.first(where: { $0.name == name && $0.labels == labels }) {
                return sample.value
            }
        }
        return nil
    }

    /// The histogram series `name` with exactly `labels` (without `le`), or nil when the
    /// exposition has no `name_count` for them.
    public func histogram(_ name: String, labels: [String: String] = [:]) -> HistogramValue? {
        guard let count = value(of: name + "_count", labels: labels), let sum = value(of: name + "_sum", labels: labels)
        else { return nil }
        var buckets: [HistogramValue.Bucket] = []
        for family in families {
            for sample in family.samples where sample.name == name + "_bucket" {
                var rest = sample.labels
                guard let bound = rest.removeValue(forKey: "le").flatMap({ ExpositionParser.value(Substring($0)) }), rest == labels
                else { continue }
                buckets.append(HistogramValue.Bucket(upperBound: bound, count: sample.value))
            }
        }
        return HistogramValue(count: count, sum: sum, buckets: buckets.sorted { $0.upperBound < $1.upperBound })
    }

    /// The number of series (label sets) of family `name`, or of all families when nil: a
    /// histogram series counts once, not once per bucket.
    public func seriesCount(_ name: String? = nil) -> Int {
        families.filter { name == nil || $0.name == name }.reduce(0) { $0 + $1.seriesLabels.count }
    }
}

extension MetricRegistry {
    /// The registry's text 0.0.4 exposition, parsed (collectors included).
    public func exposition() throws(ExpositionError) -> Exposition {
        try Exposition(render())
    }

    /// The current value of the series `name` with exactly `labels`: a counter (its name with
    /// `_total`), a gauge, or a histogram's `…_count`; nil when the registry has none.
    ///
    /// ```swift
    /// #expect(try registry.value(of: "shop_orders_total", labels: ["status": "paid"]) == 1)
    /// ```
    public func value(of name: String, labels: [String: String] = [:]) throws(ExpositionError) -> Double? {
        try exposition().value(of: name, labels: labels)
    }

    /// The histogram series `name` with exactly `labels`: count, sum and cumulative buckets.
    ///
    /// ```swift
    /// let latency = try #require(try registry.histogram("http_request_duration_seconds", labels: ["path": "/"]))
    /// #expect(latency.count == 2)
    /// ```
    public func histogram(_ name: String, labels: [String: String] = [:]) throws(ExpositionError) -> HistogramValue? {
        try exposition().histogram(name, labels: labels)
    }

    /// The number of series of family `name` (a counter's name with `_total`), or of the whole
    /// registry when nil.
    public func seriesCount(_ name: String? = nil) throws(ExpositionError) -> Int {
        try exposition().seriesCount(name)
    }
}
