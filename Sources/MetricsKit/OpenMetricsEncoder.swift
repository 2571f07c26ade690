// OpenMetrics 1.0 text: every rule of that format, and nothing else, lives here.
//
//   # TYPE <family> counter|gauge|histogram|info|stateset|unknown
//   # HELP <family> <help, \ " and line feed escaped>
//   <family>_total{<labels>} <value> # {<exemplar labels>} <value> <timestamp>
//   <family>_created{<labels>} <seconds>
//   <name>_bucket{<labels>,le="<canonical bound>"} <count> [# exemplar]
//   # EOF
//
//   <family>_info{<labels>} 1
//   <family>{<labels>,<family>="<state>"} 1|0
//
// A counter's family is named without `_total` and its sample with it (an info's without and
// with `_info`); bounds are canonical
// (`1.0`, `+Inf`); counters and histograms carry `_created` when the registry asks for it.

/// Writes OpenMetrics 1.0 text.
struct OpenMetricsEncoder: ExpositionEncoder {
    private(set) var sink: ByteSink
    private let createdSamples: Bool
    /// The sample name of the family (its registered name).
    private var name = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    /// The family name: a counter's name without `_total`.
    private var family = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var isCounter = false

    init(sink: ByteSink, createdSamples: Bool) {
        self.sink = sink
        self.createdSamples = createdSamples
    }

    /// The `le` texts of a bucket layout in this format (canonical bounds).
    static func renderBounds(_ bounds: [Double]) -> RenderedBounds {
        RenderedBounds(bounds) { bound, text in TextWriter.appendCanonical(bound, to: &text) }
    }

    /// The family name OpenMetrics gives a metric: a counter's name without `_total`, an
    /// info's without `_info`.
    static func familyName(_ name: String, type: MetricType) -> String {
        if type == .counter && name.hasSuffix("_total") { return String(name.dropLast(6)) }
        if type == .info && name.hasSuffix("_info") { return String(name.dropLast(5)) }
        return name
    }

    mutating func beginFamily(_ metadata: FamilyMetadata) {
        name = metadata.name
        isCounter = metadata.type == .counter
        family = isCounter && Self.endsIn(name, Literal.total) ? UnsafeBufferPointer(rebasing: name.dropLast(6)) : name
        if metadata.type == .info && Self.endsIn(name, Literal.infoSuffix) {
            family = UnsafeBufferPointer(rebasing: name.dropLast(5))
        }
        sink.append(Literal.type)
        sink.append(family)
        sink.append(UInt8(ascii: " "))
        sink.append(Self.typeName(metadata.type))
        sink.append(Literal.newlineHelp)
        sink.append(family)
        sink.append(UInt8(ascii: " "))
        TextWriter.appendEscapedHelp(metadata.help, quotes: true, to: &sink)
        sink.append(TextWriter.newline)
    }

    mutating func visit(_ sample: Sample) {
        if isCounter, case .none = sample.suffix {
            sink.append(family)
            sink.append(Literal.total)
        } else {
            sink.append(name)
            sample.suffix.append(to: &sink)
        }
        TextWriter.appendLabelsAndValue(sample, to: &sink)
        if let exemplar = sample.exemplars?.snapshot()[0] { append(exemplar) }
        sink.append(TextWriter.newline)
        if createdSamples, let created = sample.created { appendCreated(created, sample.labels) }
    }

    mutating func visit(_ histogram: HistogramSample) {
        var cumulative: UInt64 = 0
        let bounds = histogram.layout.openMetricsBounds
        let exemplars = histogram.exemplars?.snapshot()
        for i in 0..<histogram.layout.bucketCount {
            cumulative &+= histogram.counts[i]
            TextWriter.appendBucketPrefix(name, histogram.labels, to: &sink)
            sink.append(bounds[i])
            TextWriter.append(cumulative, to: &sink)
            if let exemplars, i < exemplars.count, let exemplar = exemplars[i] { append(exemplar) }
            sink.append(TextWriter.newline)
        }
        TextWriter.appendSumAndCount(name, histogram, to: &sink)
        if createdSamples { appendCreated(histogram.created, histogram.labels) }
    }

    mutating func endFamily() {}

    mutating func finish() {
        sink.append(Literal.eof)
    }

    /// Appends ` # {labels} value timestamp`.
    private mutating func append(_ exemplar: ExemplarSlots.Exemplar) {
        sink.append(Literal.exemplarMark)
        sink.append(exemplar.labels)
        sink.append(UInt8(ascii: " "))
        TextWriter.append(exemplar.value, to: &sink)
        sink.append(UInt8(ascii: " "))
        TextWriter.appendTimestamp(exemplar.timestamp, to: &sink)
    }

    /// Appends `<family>_created{labels} <seconds>`.
    private mutating func appendCreated(_ created: Double, _ labels: UnsafeBufferPointer<UInt8>) {
        sink.append(family)
        sink.append(Literal.created)
        TextWriter.appendLabels(labels, to: &sink)
        TextWriter.appendTimestamp(created, to: &sink)
        sink.append(TextWriter.newline)
    }

    /// The TYPE word: text 0.0.4's, except `unknown`, `info` and `stateset`.
    private static func typeName(_ type: MetricType) -> StaticString {
        switch type {
        case .untyped: Literal.unknown
        case .info: Literal.info
        case .stateset: Literal.stateset
        case .counter, .gauge, .histogram: type.textName
        }
    }

    private static func endsIn(_ name: UnsafeBufferPointer<UInt8>, _ suffix: StaticString) -> Bool {
        let count = suffix.utf8CodeUnitCount
        return name.count > count
            && name.suffix(count).elementsEqual(UnsafeBufferPointer(start: suffix.utf8Start, count: count))
    }
}
