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
    /// Renders the family. Samples with invalid label names are skipped.
    func render(into buffer: inout ByteSink, _ options: RenderOptions) {
        // OpenMetrics names a counter family without `_total` and its sample with it.
        var sampleName = name
        if options.isOpenMetrics {
            let family = type == .counter && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
            if type == .counter { sampleName = family + "_total" }
            buffer.append("# TYPE \(family) \(type.openMetricsName)\n# HELP \(family) ")
            TextWriter.appendEscapedHelp(help, quotes: true, to: &buffer)
            buffer.append(UInt8(ascii: "\n"))
        } else {
            buffer.append("# HELP \(name) ")
            TextWriter.appendEscapedHelp(help, quotes: false, to: &buffer)
            buffer.append("\n# TYPE \(name) \(type.rawValue)\n")
        }
        for sample in samples {
            guard sample.suffix.isEmpty || Names.isValidMetricName(name + sample.suffix),
                sample.labels.allSatisfy({ Names.isValidLabelName($0.name) && !$0.name.hasPrefix("__") })
            else { continue }
            buffer.append(sample.suffix.isEmpty ? sampleName : name)
            buffer.append(sample.suffix)
            if !sample.labels.isEmpty {
                buffer.append(UInt8(ascii: "{"))
                for (i, label) in sample.labels.enumerated() {
                    if i > 0 { buffer.append(UInt8(ascii: ",")) }
                    buffer.append(label.name)
                    buffer.append([UInt8(ascii: "="), UInt8(ascii: "\"")])
                    TextWriter.appendEscapedLabelValue(label.value, to: &buffer)
                    buffer.append(UInt8(ascii: "\""))
                }
                buffer.append(UInt8(ascii: "}"))
            }
            buffer.append(UInt8(ascii: " "))
            TextWriter.append(sample.value, to: &buffer)
            buffer.append(TextWriter.newline)
        }
    }
}
