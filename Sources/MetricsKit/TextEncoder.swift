// Prometheus text format 0.0.4: every rule of that format, and nothing else, lives here.
//
//   # HELP <name> <help, \ and line feed escaped>
//   # TYPE <name> counter|gauge|histogram|untyped
//   <name>[_bucket|_sum|_count]{<labels>[,le="<bound>"]} <value>
//
// No exemplars, no `_created` samples, no end marker. Bounds are spelled as Go's `%g` (`1`,
// `0.005`), like every Prometheus client.

/// Writes text format 0.0.4.
struct TextEncoder: ExpositionEncoder {
    private(set) var sink: ByteSink
    private var name = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

    init(sink: ByteSink) {
        self.sink = sink
    }

    /// The `le` texts of a bucket layout in this format.
    static func renderBounds(_ bounds: [Double]) -> RenderedBounds {
        RenderedBounds(bounds) { bound, text in TextWriter.append(bound, to: &text) }
    }

    mutating func beginFamily(_ family: FamilyMetadata) {
        name = family.name
        sink.append(Literal.help)
        sink.append(family.name)
        sink.append(UInt8(ascii: " "))
        TextWriter.appendEscapedHelp(family.help, quotes: false, to: &sink)
        sink.append(Literal.newlineType)
        sink.append(family.name)
        sink.append(UInt8(ascii: " "))
        sink.append(family.type.textName)
        sink.append(TextWriter.newline)
    }

    mutating func visit(_ sample: Sample) {
        sink.append(name)
        sample.suffix.append(to: &sink)
        TextWriter.appendLabelsAndValue(sample, to: &sink)
        sink.append(TextWriter.newline)
    }

    mutating func visit(_ histogram: HistogramSample) {
        var cumulative: UInt64 = 0
        let bounds = histogram.layout.textBounds
        for i in 0..<histogram.layout.bucketCount {
            cumulative &+= histogram.counts[i]
            TextWriter.appendBucketPrefix(name, histogram.labels, to: &sink)
            sink.append(bounds[i])
            TextWriter.append(cumulative, to: &sink)
            sink.append(TextWriter.newline)
        }
        TextWriter.appendSumAndCount(name, histogram, to: &sink)
    }

    mutating func endFamily() {}
}

extension MetricType {
    /// The type as the TYPE lines of text 0.0.4 write it.
    var textName: StaticString {
        switch self {
        case .counter: Literal.counter
        case .gauge, .info, .stateset: Literal.gauge  // text 0.0.4 has neither info nor stateset
        case .histogram: Literal.histogram
        case .untyped: Literal.untyped
        }
    }
}
