// The Prometheus protobuf exposition: every rule of that format, and nothing else, lives here.
//
// Content-Type `application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited`: a sequence of `io.prometheus.client.MetricFamily` messages (client_model's
// metrics.proto), each prefixed by its length as a varint. Encoded by hand (the schema is small
// and fixed, and MetricsKit has no package dependencies). Nested messages are written in place:
// a one-byte length is reserved, and when the message turns out longer than 127 bytes its bytes
// move up to make room for the longer varint, so encoding needs no second buffer.
//
// Repeated scalars (the native buckets' deltas) are written unpacked, as proto2 declares them;
// every protobuf decoder reads both layouts.

/// Writes delimited `MetricFamily` messages.
struct ProtobufEncoder: ExpositionEncoder {
    private(set) var sink: ByteSink
    private var name = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var help = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var type = MetricType.untyped
    /// Where the open family's length prefix sits.
    private var familyStart = 0
    /// Samples a collector handed over with a suffix (`_bucket`, `_sum`, ...): protobuf has no
    /// place for them in the family, so each becomes an untyped family of its own name, written
    /// after the family. Nil until needed.
    private var deferred: ByteSink?

    init(sink: ByteSink) {
        self.sink = sink
    }

    // MetricFamily fields.
    private enum Family {
        static let name: UInt8 = 1 << 3 | 2
        static let help: UInt8 = 2 << 3 | 2
        static let type: UInt8 = 3 << 3 | 0
        static let metric: UInt8 = 4 << 3 | 2
    }

    private static func typeNumber(_ type: MetricType) -> UInt64 {
        switch type {
        case .counter: 0
        case .gauge, .info, .stateset: 1  // protobuf has neither info nor stateset
        case .untyped: 3
        case .histogram: 4
        }
    }

    mutating func beginFamily(_ family: FamilyMetadata) {
        name = family.name
        help = family.help
        type = family.type
        familyStart = Self.openFamily(name, help, type, in: &sink)
    }

    /// Writes the length placeholder and the family's name, help and type; returns where the
    /// length goes.
    private static func openFamily(
        _ name: UnsafeBufferPointer<UInt8>, _ help: UnsafeBufferPointer<UInt8>, _ type: MetricType,
        in sink: inout ByteSink
    ) -> Int {
        let start = sink.openLength()
        sink.append(Family.name)
        sink.appendLengthDelimited(name)
        appendHelpAndType(help, type, to: &sink)
        return start
    }

    /// The `help` and `type` fields of a `MetricFamily` (after its name).
    private static func appendHelpAndType(
        _ help: UnsafeBufferPointer<UInt8>, _ type: MetricType, to sink: inout ByteSink
    ) {
        sink.append(Family.help)
        sink.appendLengthDelimited(help)
        sink.append(Family.type)
        sink.appendVarint(typeNumber(type))
    }

    mutating func visit(_ sample: Sample) {
        if case .none = sample.suffix {
            Self.appendMetric(sample, type: type, to: &sink)
            return
        }
        var side = deferred ?? ByteSink(capacity: 256)
        let start = side.openLength()
        side.append(Family.name)
        let nameStart = side.openLength()
        side.append(name)
        sample.suffix.append(to: &side)
        side.closeLength(nameStart)
        Self.appendHelpAndType(help, .untyped, to: &side)
        Self.appendMetric(sample, type: .untyped, to: &side)
        side.closeLength(start)
        deferred = side
    }

    /// Appends `metric { label... counter|gauge|untyped { ... } }`.
    private static func appendMetric(_ sample: Sample, type: MetricType, to sink: inout ByteSink) {
        sink.append(Family.metric)
        let metric = sink.openLength()
        appendLabelPairs(sample.labels, field: 1, to: &sink)
        let value = sample.integer.map { Double($0) } ?? sample.value
        switch type {
        case .counter:
            sink.append(3 << 3 | 2)
            let counter = sink.openLength()
            sink.append(1 << 3 | 1)
            sink.appendDouble(value)
            if let exemplar = sample.exemplars?.snapshot()[0] { Self.appendExemplar(exemplar, field: 2, to: &sink) }
            if let created = sample.created { appendTimestamp(created, field: 3, to: &sink) }
            sink.closeLength(counter)
        case .gauge, .untyped, .histogram, .info, .stateset:
            // A histogram family's plain samples come from collectors only; untyped keeps them.
            sink.append(type == .untyped || type == .histogram ? 5 << 3 | 2 : 2 << 3 | 2)
            let field = sink.openLength()
            sink.append(1 << 3 | 1)
            sink.appendDouble(value)
            sink.closeLength(field)
        }
        sink.closeLength(metric)
    }

    mutating func visit(_ histogram: HistogramSample) {
        sink.append(Family.metric)
        let metric = sink.openLength()
        Self.appendLabelPairs(histogram.labels, field: 1, to: &sink)
        sink.append(7 << 3 | 2)
        let body = sink.openLength()
        sink.append(1 << 3 | 0)
        sink.appendVarint(histogram.count)
        sink.append(2 << 3 | 1)
        sink.appendDouble(histogram.sum)
        // Classic buckets with finite bounds; the +Inf bucket only to carry its exemplar (as
        // client_golang does: Prometheus reads a native histogram's exemplars from here).
        let bounds = histogram.layout.bounds
        let exemplars = histogram.exemplars?.snapshot()
        var cumulative: UInt64 = 0
        for i in 0..<histogram.layout.bucketCount {
            cumulative &+= histogram.counts[i]
            let exemplar = exemplars.flatMap { i < $0.count ? $0[i] : nil }
            let isInfinite = i == bounds.count
            guard (histogram.hasClassicBuckets && !isInfinite) || (isInfinite && exemplar != nil) else { continue }
            sink.append(3 << 3 | 2)
            let bucket = sink.openLength()
            sink.append(1 << 3 | 0)
            sink.appendVarint(isInfinite ? histogram.count : cumulative)
            sink.append(2 << 3 | 1)
            sink.appendDouble(isInfinite ? .infinity : bounds[i])
            if let exemplar { Self.appendExemplar(exemplar, field: 3, to: &sink) }
            sink.closeLength(bucket)
        }
        if let native = histogram.native { Self.appendNative(native, to: &sink) }
        Self.appendTimestamp(histogram.created, field: 15, to: &sink)
        if histogram.native != nil, let exemplars {
            // Newer Prometheus versions read a native histogram's exemplars from `exemplars` (field 16,
            // each with its timestamp), older ones from the buckets above: every bucket's
            // latest, oldest first (some versions take them in order and drop one older than
            // the one before).
            let listed = exemplars.compactMap { $0 }.sorted { $0.timestamp < $1.timestamp }
            for exemplar in listed { Self.appendExemplar(exemplar, field: 16, to: &sink) }
        }
        sink.closeLength(body)
        sink.closeLength(metric)
    }

    private static func appendExemplar(_ exemplar: ExemplarSlots.Exemplar, field: UInt8, to sink: inout ByteSink) {
        sink.appendVarint(UInt64(field) << 3 | 2)  // field 16 takes a two-byte key
        let start = sink.openLength()
        exemplar.labels.withUnsafeBufferPointer { text in
            // `{a="x"}`: the pairs without the braces.
            let inner = text.count >= 2 ? UnsafeBufferPointer(rebasing: text[1..<(text.count - 1)]) : text
            appendLabelPairs(inner, field: 1, to: &sink)
        }
        sink.append(2 << 3 | 1)
        sink.appendDouble(exemplar.value)
        appendTimestamp(exemplar.timestamp, field: 3, to: &sink)
        sink.closeLength(start)
    }

    /// Appends schema, zero bucket, spans and deltas (client_golang's layout: a gap of up to two
    /// empty buckets is filled with zero deltas, a longer one starts a new span).
    private static func appendNative(_ native: NativeBuckets, to sink: inout ByteSink) {
        sink.append(5 << 3 | 0)
        sink.appendVarint(UInt64(UInt32(bitPattern: (native.schema << 1) ^ (native.schema >> 31))))
        sink.append(6 << 3 | 1)
        sink.appendDouble(native.zeroThreshold)
        sink.append(7 << 3 | 0)
        sink.appendVarint(native.zeroCount)
        appendBuckets(native.negative, spanField: 9, deltaField: 10, to: &sink)
        appendBuckets(native.positive, spanField: 12, deltaField: 13, to: &sink)
        if native.zeroThreshold == 0 && native.zeroCount == 0 && native.positive.isEmpty && native.negative.isEmpty {
            // No observations and no zero bucket: one empty span, or scrapers would take the
            // histogram for a classic one.
            appendSpan(offset: 0, length: 0, field: 12, to: &sink)
        }
    }

    private static func appendBuckets(
        _ buckets: UnsafeBufferPointer<NativeBucket>, spanField: UInt8, deltaField: UInt8, to sink: inout ByteSink
    ) {
        guard !buckets.isEmpty else { return }
        // Spans first (their lengths are known only at their ends), then the deltas.
        var next: Int32 = 0
        var offset: Int32 = 0
        var length: UInt32 = 0
        for (n, bucket) in buckets.enumerated() {
            let gap = bucket.index &- next
            if n == 0 || gap > 2 {
                if n > 0 { appendSpan(offset: offset, length: length, field: spanField, to: &sink) }
                offset = gap
                length = 0
            } else {
                length &+= UInt32(gap)
            }
            length &+= 1
            next = bucket.index &+ 1
        }
        appendSpan(offset: offset, length: length, field: spanField, to: &sink)
        next = 0
        var previous: Int64 = 0
        for (n, bucket) in buckets.enumerated() {
            let gap = bucket.index &- next
            if n > 0 && gap <= 2 {
                for _ in 0..<gap {
                    appendDelta(0 &- previous, field: deltaField, to: &sink)
                    previous = 0
                }
            }
            let count = Int64(truncatingIfNeeded: bucket.count)
            appendDelta(count &- previous, field: deltaField, to: &sink)
            previous = count
            next = bucket.index &+ 1
        }
    }

    private static func appendSpan(offset: Int32, length: UInt32, field: UInt8, to sink: inout ByteSink) {
        sink.append(field << 3 | 2)
        let start = sink.openLength()
        sink.append(1 << 3 | 0)
        sink.appendVarint(UInt64(UInt32(bitPattern: (offset << 1) ^ (offset >> 31))))
        sink.append(2 << 3 | 0)
        sink.appendVarint(UInt64(length))
        sink.closeLength(start)
    }

    private static func appendDelta(_ delta: Int64, field: UInt8, to sink: inout ByteSink) {
        sink.append(field << 3 | 0)
        sink.appendVarint(UInt64(bitPattern: (delta << 1) ^ (delta >> 63)))
    }

    /// Appends a `google.protobuf.Timestamp` (seconds, nanos) for Unix seconds.
    private static func appendTimestamp(_ seconds: Double, field: UInt8, to sink: inout ByteSink) {
        guard seconds.isFinite, seconds > 0 else { return }
        var whole = seconds.rounded(.down)
        var nanos = ((seconds - whole) * 1e9).rounded()
        if nanos >= 1e9 {
            whole += 1
            nanos -= 1e9
        }
        sink.append(field << 3 | 2)
        let start = sink.openLength()
        sink.append(1 << 3 | 0)
        sink.appendVarint(UInt64(whole))
        if nanos > 0 {
            sink.append(2 << 3 | 0)
            sink.appendVarint(UInt64(nanos))
        }
        sink.closeLength(start)
    }

    /// Appends one `LabelPair` message per pair of pre-rendered label text, values unescaped.
    private static func appendLabelPairs(_ labels: UnsafeBufferPointer<UInt8>, field: UInt8, to sink: inout ByteSink) {
        var cursor = LabelPairCursor(labels)
        while let (name, escaped) = cursor.next() {
            let valueCount = LabelPairCursor.unescapedCount(escaped)
            let pairLength = 1 + ByteSink.varintSize(UInt64(name.count)) + name.count + 1
                + ByteSink.varintSize(UInt64(valueCount)) + valueCount
            sink.append(field << 3 | 2)
            sink.appendVarint(UInt64(pairLength))
            sink.append(1 << 3 | 2)
            sink.appendLengthDelimited(name)
            sink.append(2 << 3 | 2)
            sink.appendVarint(UInt64(valueCount))
            LabelPairCursor.appendUnescaped(escaped, to: &sink)
        }
    }

    mutating func endFamily() {
        sink.closeLength(familyStart)
        if var side = deferred {
            sink.append(side.bytes)
            side.removeAll()
            deferred = side
        }
    }

    mutating func finish() {
        deferred?.release()
        deferred = nil
    }
}

// Protobuf wire primitives on the byte sink.
extension ByteSink {
    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var v = value >> 7
        while v != 0 {
            size += 1
            v >>= 7
        }
        return size
    }

    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(truncatingIfNeeded: v))
    }

    /// Appends a double little-endian (wire type 1).
    @inline(__always)
    mutating func appendDouble(_ value: Double) {
        reserve(8)
        UnsafeMutableRawPointer(tail).storeBytes(of: value.bitPattern.littleEndian, as: UInt64.self)
        advance(by: 8)
    }

    /// Appends a varint length and the bytes.
    mutating func appendLengthDelimited(_ bytes: UnsafeBufferPointer<UInt8>) {
        appendVarint(UInt64(bytes.count))
        append(bytes)
    }

    /// Reserves one byte for the length of the message that follows; returns its position.
    @inline(__always)
    mutating func openLength() -> Int {
        let position = count
        append(0)
        return position
    }

    /// Writes the length of everything after the reserved byte at `position`, moving the
    /// message up when its length needs more than one byte.
    mutating func closeLength(_ position: Int) {
        let length = count - position - 1
        if length < 0x80 {
            base[position] = UInt8(truncatingIfNeeded: length)
            return
        }
        let size = Self.varintSize(UInt64(length))
        reserve(size - 1)
        let message = base + position + 1
        (message + size - 1).update(from: message, count: length)
        advance(by: size - 1)
        var v = UInt64(length)
        var p = base + position
        while v >= 0x80 {
            p.pointee = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            p += 1
        }
        p.pointee = UInt8(truncatingIfNeeded: v)
    }
}
