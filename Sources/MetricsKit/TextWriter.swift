// Byte-level writers for the exposition formats: numbers, escaping.
// Everything here appends to a caller-owned `[UInt8]` and allocates nothing of its own,
// so a scrape in steady state costs copies and number formatting only.

/// The runtime's shortest round-trip formatter for `Double` (the one behind `description`),
/// called directly so that formatting writes into a stack buffer instead of a `String`.
@_silgen_name("swift_float64ToString")
private func _float64ToString(
    _ buffer: UnsafeMutablePointer<UInt8>, _ bufferLength: UInt, _ value: Float64, _ debug: Bool
) -> UInt64

enum TextWriter {
    static let newline = UInt8(ascii: "\n")

    /// Appends an unsigned integer in decimal.
    static func append(_ value: UInt64, to buffer: inout ByteSink) {
        if value < 10 {
            buffer.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var length = 1
        var bound: UInt64 = 10
        while length < 20 && value >= bound {
            length += 1
            bound = bound &* 10
        }
        buffer.reserve(length)
        let digits = buffer.tail
        var v = value
        var i = length
        while i > 0 {
            i -= 1
            let (quotient, remainder) = v.quotientAndRemainder(dividingBy: 10)
            digits[i] = UInt8(truncatingIfNeeded: remainder) &+ 48
            v = quotient
        }
        buffer.advance(by: length)
    }

    /// Appends a sample value as the text formats want it: `+Inf`, `-Inf`, `NaN`; integral
    /// values below 2^53 as integers (`42`); everything else as the shortest text that parses
    /// back to the same double, in Go's `%g` layout (`0.1`, `1e-05`, `1.2345675e+06`).
    static func append(_ value: Double, to buffer: inout ByteSink) {
        if value.isNaN {
            buffer.append([0x4E, 0x61, 0x4E])  // NaN
            return
        }
        if value.isInfinite {
            buffer.append(value < 0 ? 0x2D : 0x2B)
            buffer.append([0x49, 0x6E, 0x66])  // Inf
            return
        }
        let magnitude = value.magnitude
        if magnitude < 9_007_199_254_740_992, magnitude.rounded(.towardZero) == magnitude {
            if value < 0 { buffer.append(0x2D) }
            append(UInt64(magnitude), to: &buffer)
            return
        }
        appendShortest(value, to: &buffer)
    }

    /// Whether the runtime formatter, called directly, writes what `description` writes. It is
    /// checked once; if a future runtime changes its contract, formatting falls back to
    /// `description` (correct, but it allocates for texts longer than 15 bytes).
    static let runtimeFormatterAgrees: Bool = {
        let probes: [Double] = [0.00012926680296826567, 0.1, 1e-05, 1.5e300, 123.456, Double.leastNonzeroMagnitude, -0.0009069481312281655]
        return probes.allSatisfy { value in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { raw in
                let length = runtimeFormat(value, into: raw.baseAddress!)
                return String(decoding: UnsafeBufferPointer(start: raw.baseAddress!, count: length), as: UTF8.self)
                    == value.description
            }
        }
    }()

    /// Writes the runtime's shortest text for `value` (at most 32 bytes) and returns its length.
    private static func runtimeFormat(_ value: Double, into text: UnsafeMutablePointer<UInt8>) -> Int {
        // The runtime leaves some zero digits unwritten, expecting them in place.
        text.update(repeating: 0x30, count: 32)
        return Int(_float64ToString(text, 32, value, false))
    }

    /// Appends a bound the way OpenMetrics wants `le` and `quantile` values: always the same
    /// spelling for the same number, Go's `%g` with `.0` added to integers (`1.0`, `0.0`,
    /// `10.0`, `1e-05`, `1e+06`, `+Inf`).
    static func appendCanonical(_ value: Double, to buffer: inout ByteSink) {
        if !value.isFinite { return append(value, to: &buffer) }
        let start = buffer.count
        appendShortest(value == 0 ? 0 : value, to: &buffer)
        let written = UnsafeBufferPointer(start: buffer.base + start, count: buffer.count - start)
        if !written.contains(UInt8(ascii: ".")) && !written.contains(UInt8(ascii: "e")) {
            buffer.append(UInt8(ascii: "."))
            buffer.append(0x30)
        }
    }

    /// Go `strconv.FormatFloat(v, 'g', -1, 64)` layout on top of the runtime's shortest digits.
    static func appendShortest(_ value: Double, to buffer: inout ByteSink) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { raw in
            let base = raw.baseAddress!
            var length = 0
            if runtimeFormatterAgrees {
                length = runtimeFormat(value, into: base)
            } else {
                var text = value.description
                text.withUTF8 { utf8 in
                    length = min(utf8.count, 32)
                    base.update(from: utf8.baseAddress!, count: length)
                }
            }
            // Parse the runtime's text ("-12.5", "1e-05", "1.5e+300") into digits and a
            // decimal point position: value = 0.d1d2d3... x 10^pointPosition.
            let digits = base + 32
            var digitCount = 0
            var pointPosition = 0
            var sawPoint = false
            var negative = false
            var exponent = 0
            var i = 0
            while i < length {
                let c = base[i]
                switch c {
                case 0x2D:  // -
                    negative = true
                case 0x2E:  // .
                    sawPoint = true
                case 0x30...0x39:
                    if digitCount == 0 && c == 0x30 {
                        // leading zero: shifts the point when after it
                        if sawPoint { pointPosition -= 1 }
                    } else {
                        digits[digitCount] = c
                        digitCount += 1
                        if !sawPoint { pointPosition += 1 }
                    }
                case 0x65, 0x45:  // e
                    var j = i + 1
                    var expNegative = false
                    if j < length && (base[j] == 0x2B || base[j] == 0x2D) {
                        expNegative = base[j] == 0x2D
                        j += 1
                    }
                    while j < length {
                        exponent = exponent * 10 + Int(base[j] &- 0x30)
                        j += 1
                    }
                    if expNegative { exponent = -exponent }
                    i = length
                    continue
                default:
                    break
                }
                i += 1
            }
            while digitCount > 1 && digits[digitCount - 1] == 0x30 { digitCount -= 1 }
            if digitCount == 0 {
                buffer.append(0x30)
                return
            }
            pointPosition += exponent
            if negative { buffer.append(0x2D) }
            let exp10 = pointPosition - 1
            if exp10 < -4 || exp10 >= 6 {
                // %e: d.ddde±XX
                buffer.append(digits[0])
                if digitCount > 1 {
                    buffer.append(0x2E)
                    buffer.append(UnsafeBufferPointer(start: digits + 1, count: digitCount - 1))
                }
                buffer.append(0x65)
                buffer.append(exp10 < 0 ? 0x2D : 0x2B)
                let e = exp10.magnitude
                if e < 10 { buffer.append(0x30) }
                append(UInt64(e), to: &buffer)
            } else if pointPosition <= 0 {
                // 0.000ddd
                buffer.append(0x30)
                buffer.append(0x2E)
                for _ in 0..<(-pointPosition) { buffer.append(0x30) }
                buffer.append(UnsafeBufferPointer(start: digits, count: digitCount))
            } else {
                let intDigits = min(pointPosition, digitCount)
                buffer.append(UnsafeBufferPointer(start: digits, count: intDigits))
                if pointPosition > digitCount {
                    for _ in 0..<(pointPosition - digitCount) { buffer.append(0x30) }
                } else if digitCount > pointPosition {
                    buffer.append(0x2E)
                    buffer.append(
                        UnsafeBufferPointer(start: digits + pointPosition, count: digitCount - pointPosition))
                }
            }
        }
    }

    /// Appends a label value with `\`, `"` and line feed escaped (both text formats).
    static func appendEscapedLabelValue(_ value: String, to buffer: inout ByteSink) {
        for byte in value.utf8 {
            switch byte {
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x22: buffer.append(0x5C); buffer.append(0x22)
            case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
            default: buffer.append(byte)
            }
        }
    }

    /// Appends HELP text (UTF-8 bytes): `\` and line feed escaped; in OpenMetrics also `"`.
    static func appendEscapedHelp(_ help: UnsafeBufferPointer<UInt8>, quotes: Bool, to buffer: inout ByteSink) {
        for byte in help {
            switch byte {
            case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
            case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
            case 0x22 where quotes: buffer.append(0x5C); buffer.append(0x22)
            default: buffer.append(byte)
            }
        }
    }
}

// Sample-line pieces both text formats write the same way.
extension TextWriter {
    /// Appends `{labels} ` (or ` ` without labels).
    @inline(__always)
    static func appendLabels(_ labels: UnsafeBufferPointer<UInt8>, to sink: inout ByteSink) {
        if labels.isEmpty {
            sink.append(UInt8(ascii: " "))
        } else {
            sink.append(UInt8(ascii: "{"))
            sink.append(labels)
            sink.append(UInt8(ascii: "}"))
            sink.append(UInt8(ascii: " "))
        }
    }

    /// Appends `{labels} <value>` of a sample (a whole count digit for digit).
    @inline(__always)
    static func appendLabelsAndValue(_ sample: Sample, to sink: inout ByteSink) {
        appendLabels(sample.labels, to: &sink)
        if let integer = sample.integer {
            append(integer, to: &sink)
        } else {
            append(sample.value, to: &sink)
        }
    }

    /// Appends `<name>_bucket{<labels>,` (the `le` pair follows).
    @inline(__always)
    static func appendBucketPrefix(
        _ name: UnsafeBufferPointer<UInt8>, _ labels: UnsafeBufferPointer<UInt8>, to sink: inout ByteSink
    ) {
        sink.append(name)
        sink.append(Literal.bucketBrace)
        if !labels.isEmpty {
            sink.append(labels)
            sink.append(UInt8(ascii: ","))
        }
    }

    /// Appends the `_sum` and `_count` lines of a histogram.
    static func appendSumAndCount(_ name: UnsafeBufferPointer<UInt8>, _ histogram: HistogramSample, to sink: inout ByteSink) {
        sink.append(name)
        SampleSuffix.sum.append(to: &sink)
        appendLabels(histogram.labels, to: &sink)
        append(histogram.sum, to: &sink)
        sink.append(newline)
        sink.append(name)
        SampleSuffix.count.append(to: &sink)
        appendLabels(histogram.labels, to: &sink)
        append(histogram.count, to: &sink)
        sink.append(newline)
    }

    /// Appends Unix seconds with milliseconds: `1700000000.123`.
    static func appendTimestamp(_ seconds: Double, to buffer: inout ByteSink) {
        let milliseconds = UInt64(max(0, (seconds * 1000).rounded()))
        append(milliseconds / 1000, to: &buffer)
        buffer.append(UInt8(ascii: "."))
        let fraction = milliseconds % 1000
        if fraction < 100 { buffer.append(0x30) }
        if fraction < 10 { buffer.append(0x30) }
        append(fraction, to: &buffer)
    }
}

/// Byte strings the encoders write: static strings, so appending one is a plain copy (no
/// allocation, reference counting or lazy initialization).
enum Literal {
    static var help: StaticString { "# HELP " }
    static var type: StaticString { "# TYPE " }
    static var newlineType: StaticString { "\n# TYPE " }
    static var newlineHelp: StaticString { "\n# HELP " }
    static var bucket: StaticString { "_bucket" }
    static var bucketBrace: StaticString { "_bucket{" }
    static var sum: StaticString { "_sum" }
    static var count: StaticString { "_count" }
    static var total: StaticString { "_total" }
    static var created: StaticString { "_created" }
    static var exemplarMark: StaticString { " # " }
    static var eof: StaticString { "# EOF\n" }
    static var counter: StaticString { "counter" }
    static var gauge: StaticString { "gauge" }
    static var histogram: StaticString { "histogram" }
    static var untyped: StaticString { "untyped" }
    static var unknown: StaticString { "unknown" }
    static var info: StaticString { "info" }
    static var infoSuffix: StaticString { "_info" }
    static var stateset: StaticString { "stateset" }
}
