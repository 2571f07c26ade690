// The neutral sample model between metrics and the wire. Families and collectors hand their
// samples to a `SampleVisitor`; an encoder per format (TextEncoder, OpenMetricsEncoder,
// ProtobufEncoder) is such a visitor and owns every rule of its format. No metric type knows a
// format. Everything is passed as buffer pointers and plain values that live on the caller's
// stack for the duration of the call, so a scrape allocates nothing per sample.

/// Receives the families and samples of one scrape, in order: `beginFamily`, that family's
/// samples and histograms, `endFamily`; then the next family. The metadata's pointers stay
/// valid until `endFamily`; a sample's only during its call.
protocol SampleVisitor {
    mutating func beginFamily(_ family: FamilyMetadata)
    mutating func visit(_ sample: Sample)
    mutating func visit(_ histogram: HistogramSample)
    mutating func endFamily()
}

/// A family's identity: name and help as UTF-8 bytes, and its type.
struct FamilyMetadata {
    var name: UnsafeBufferPointer<UInt8>
    var help: UnsafeBufferPointer<UInt8>
    var type: MetricType
}

/// What a sample's name adds to its family's name. Metrics that MetricsKit keeps hand over
/// histograms whole (``HistogramSample``); collectors may hand over the parts of a histogram as
/// separate samples, or samples with a suffix of their own.
enum SampleSuffix {
    case none
    case bucket
    case sum
    case count
    /// Any other suffix (already checked to form a valid name with the family's).
    case other(UnsafeBufferPointer<UInt8>)

    /// Appends the suffix's bytes (`_bucket`, `_sum`, ...): one spelling for every encoder.
    func append(to sink: inout ByteSink) {
        switch self {
        case .none: break
        case .bucket: sink.append(Literal.bucket)
        case .sum: sink.append(Literal.sum)
        case .count: sink.append(Literal.count)
        case .other(let bytes): sink.append(bytes)
        }
    }
}

/// One counter, gauge or untyped sample.
struct Sample {
    /// The label pairs `a="x",b="y"` as the text formats write them (escaped, no braces),
    /// rendered once per series; empty without labels.
    var labels: UnsafeBufferPointer<UInt8>
    var suffix: SampleSuffix = .none
    var value: Double
    /// The value as an exact integer when it is a whole count (counters), so values of 2^53
    /// and above are written digit for digit.
    var integer: UInt64? = nil
    /// The series' exemplar (slot 0), read only by encoders that write exemplars.
    var exemplars: ExemplarSlots? = nil
    /// When the series was created (counters), Unix seconds.
    var created: Double? = nil
}

/// One histogram series: its classic buckets, and its native buckets if it has them.
struct HistogramSample {
    var labels: UnsafeBufferPointer<UInt8>
    /// The classic bounds and their pre-rendered `le` texts.
    var layout: BucketLayout
    /// Non-cumulative counts per classic bucket, `+Inf` last (`layout.bucketCount` of them).
    var counts: UnsafeBufferPointer<UInt64>
    var count: UInt64
    var sum: Double
    /// Whether the classic buckets are exposed (a native-only histogram has none).
    var hasClassicBuckets: Bool
    /// The latest exemplar per classic bucket, `+Inf` last (a native-only histogram has only
    /// that one); read only by encoders that write exemplars.
    var exemplars: ExemplarSlots?
    /// When the series was created or last reset, Unix seconds.
    var created: Double
    var native: NativeBuckets?
}

/// The native (exponential) buckets of a histogram at one scrape.
struct NativeBuckets {
    var schema: Int32
    var zeroThreshold: Double
    var zeroCount: UInt64
    /// Populated buckets as (index, count), ascending by index, counts above 0.
    var positive: UnsafeBufferPointer<NativeBucket>
    var negative: UnsafeBufferPointer<NativeBucket>
}

/// One populated native bucket.
struct NativeBucket {
    var index: Int32
    var count: UInt64
}

/// Walks pre-rendered label text `a="x",b="y"` as (name, raw value) pairs, for encoders that
/// need the values unescaped (protobuf).
struct LabelPairCursor {
    private var position: UnsafePointer<UInt8>?
    private let end: UnsafePointer<UInt8>?

    init(_ text: UnsafeBufferPointer<UInt8>) {
        position = text.baseAddress
        end = text.baseAddress.map { $0 + text.count }
    }

    /// The next pair: the name's bytes and the escaped value's bytes (between the quotes).
    mutating func next() -> (name: UnsafeBufferPointer<UInt8>, escapedValue: UnsafeBufferPointer<UInt8>)? {
        guard var p = position, let end, p < end else { return nil }
        if p.pointee == UInt8(ascii: ",") { p += 1 }
        let nameStart = p
        while p < end && p.pointee != UInt8(ascii: "=") { p += 1 }
        let name = UnsafeBufferPointer(start: nameStart, count: p - nameStart)
        p += 2  // `="`
        let valueStart = p
        while p < end && p.pointee != UInt8(ascii: "\"") {
            p += p.pointee == UInt8(ascii: "\\") ? 2 : 1
        }
        let value = UnsafeBufferPointer(start: valueStart, count: min(p, end) - valueStart)
        position = min(p + 1, end)
        return (name, value)
    }

    /// The length of an escaped value once `\\`, `\"` and `\n` are undone.
    static func unescapedCount(_ escaped: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        var i = 0
        while i < escaped.count {
            i += escaped[i] == UInt8(ascii: "\\") ? 2 : 1
            count += 1
        }
        return count
    }

    /// Appends an escaped value with the escapes undone.
    static func appendUnescaped(_ escaped: UnsafeBufferPointer<UInt8>, to sink: inout ByteSink) {
        var i = 0
        while i < escaped.count {
            let byte = escaped[i]
            if byte == UInt8(ascii: "\\") && i + 1 < escaped.count {
                let next = escaped[i + 1]
                sink.append(next == UInt8(ascii: "n") ? 0x0A : next)
                i += 2
            } else {
                sink.append(byte)
                i += 1
            }
        }
    }
}

/// Something that hands its families to a visitor: the registry, for one scrape.
protocol SampleSource {
    func visit<V: SampleVisitor>(_ visitor: inout V)
}

/// An encoder for one exposition format: a visitor writing into a byte sink.
protocol ExpositionEncoder: SampleVisitor {
    /// The bytes written so far (the sink passed in, grown).
    var sink: ByteSink { get }
    /// Ends the exposition (OpenMetrics' `# EOF`).
    mutating func finish()
}

extension ExpositionEncoder {
    mutating func finish() {}
}

extension ExpositionFormat {
    /// Encodes everything `source` holds in this format, appending to `sink`.
    func encode(_ source: some SampleSource, into sink: inout ByteSink, createdSamples: Bool) {
        switch self {
        case .prometheusText: sink = Self.run(TextEncoder(sink: sink), source)
        case .openMetrics: sink = Self.run(OpenMetricsEncoder(sink: sink, createdSamples: createdSamples), source)
        case .protobuf: sink = Self.run(ProtobufEncoder(sink: sink), source)
        }
    }

    private static func run<E: ExpositionEncoder>(_ encoder: E, _ source: some SampleSource) -> ByteSink {
        var encoder = encoder
        source.visit(&encoder)
        encoder.finish()
        return encoder.sink
    }
}

/// Pre-rendered `le="<bound>"} ` texts of a bucket layout in one format's spelling, `+Inf`
/// last, laid end to end in one allocation (so a scrape copies them without reference counting).
struct RenderedBounds: @unchecked Sendable {
    private let text: UnsafeMutableBufferPointer<UInt8>
    private let offsets: UnsafeMutableBufferPointer<Int>

    /// Renders `le="…"} ` for each bound and `+Inf`, spelling finite bounds with `spell`.
    init(_ bounds: [Double], spell: (Double, inout ByteSink) -> Void) {
        var offsets: [Int] = [0]
        let bytes = ByteSink.bytes { text in
            for bound in bounds + [.infinity] {
                text.append(Array(#"le=""#.utf8))
                if bound.isInfinite { text.append("+Inf") } else { spell(bound, &text) }
                text.append(Array(#""} "#.utf8))
                offsets.append(text.count)
            }
        }
        self.text = .allocate(capacity: max(bytes.count, 1))
        _ = self.text.initialize(from: bytes)
        self.offsets = .allocate(capacity: offsets.count)
        _ = self.offsets.initialize(from: offsets)
    }

    /// `le="<bound>"} ` of bucket `i`.
    @inline(__always)
    subscript(i: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: text.baseAddress! + offsets[i], count: offsets[i + 1] - offsets[i])
    }

    func deallocate() {
        text.deallocate()
        offsets.deallocate()
    }
}
