/// Produces metric families at scrape time: values that live elsewhere (process statistics,
/// a connection pool's state) and are read only when someone asks.
///
/// Register it with ``MetricRegistry/register(_:)``. ``familyNames`` are checked against the
/// registry when the collector is registered, like any metric name; at scrape time
/// ``collect()`` is called once and only the families it declared are rendered.
public protocol Collector: Sendable {
    /// The names of the families ``collect()`` produces.
    var familyNames: [String] { get }
    /// Reads the current values. Called on every scrape, from the scraping thread.
    func collect() -> [CollectedFamily]
}

/// A family produced by a ``Collector``.
public struct CollectedFamily: Sendable {
    /// The family name; must be one of the collector's ``Collector/familyNames``.
    public var name: String
    /// The HELP text.
    public var help: String
    /// The TYPE.
    public var type: MetricType
    /// The samples, in the order they are rendered.
    public var samples: [CollectedSample]

    /// Creates a family.
    public init(name: String, help: String, type: MetricType, samples: [CollectedSample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }
}

/// One sample of a ``CollectedFamily``.
public struct CollectedSample: Sendable {
    /// Appended to the family name: `""`, or `"_bucket"`, `"_sum"`, `"_count"` for histograms.
    public var suffix: String
    /// Label pairs, rendered in this order. Pairs with an invalid or reserved name make the
    /// sample be skipped.
    public var labels: [(name: String, value: String)]
    /// The value.
    public var value: Double

    /// Creates a sample.
    public init(suffix: String = "", labels: [(name: String, value: String)] = [], value: Double) {
        self.suffix = suffix
        self.labels = labels
        self.value = value
    }
}

extension CollectedFamily {
    /// Hands the family to `visitor`. Samples with invalid label names are skipped.
    func visit<V: SampleVisitor>(_ visitor: inout V) {
        var name = name
        var help = help
        name.withUTF8 { nameBytes in
            help.withUTF8 { helpBytes in
                visitor.beginFamily(FamilyMetadata(name: nameBytes, help: helpBytes, type: type))
                visitSamples(&visitor)
                visitor.endFamily()
            }
        }
    }

    private func visitSamples<V: SampleVisitor>(_ visitor: inout V) {
        var labels = ByteSink(capacity: 64)
        defer { labels.release() }
        for sample in samples {
            guard sample.suffix.isEmpty || Names.isValidMetricName(name + sample.suffix),
                sample.labels.allSatisfy({ Names.isValidLabelName($0.name) && !$0.name.hasPrefix("__") })
            else { continue }
            labels.removeAll()
            for (i, label) in sample.labels.enumerated() {
                if i > 0 { labels.append(UInt8(ascii: ",")) }
                labels.append(label.name)
                labels.append(UInt8(ascii: "="))
                labels.append(UInt8(ascii: "\""))
                TextWriter.appendEscapedLabelValue(label.value, to: &labels)
                labels.append(UInt8(ascii: "\""))
            }
            var suffix = sample.suffix
            suffix.withUTF8 { suffixBytes in
                let kind: SampleSuffix =
                    switch sample.suffix {
                    case "": .none
                    case "_bucket": .bucket
                    case "_sum": .sum
                    case "_count": .count
                    default: .other(suffixBytes)
                    }
                visitor.visit(Sample(labels: labels.bytes, suffix: kind, value: sample.value))
            }
        }
    }
}
