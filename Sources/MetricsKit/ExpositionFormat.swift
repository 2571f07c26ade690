import Synchronization

/// The text formats a registry renders.
public enum ExpositionFormat: Sendable, Hashable, CaseIterable {
    /// Prometheus text format 0.0.4: what every Prometheus understands.
    case prometheusText
    /// OpenMetrics 1.0 text: counters as `<family>_total`, `_created` samples, exemplars,
    /// `# EOF` at the end.
    case openMetrics

    /// The Content-Type of a body in this format.
    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format to answer a scrape with from its `Accept` header, as Prometheus 2 and 3
    /// send it (`application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`):
    /// the acceptable format with the highest q-value, OpenMetrics on a tie; text 0.0.4 for
    /// `*/*`, for no header, or when nothing listed is supported.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept, !accept.isEmpty else { return .prometheusText }
        var best: (format: ExpositionFormat, q: Double)?
        for range in accept.split(separator: ",") {
            let parameters = range.split(separator: ";").map { $0.trimmed.lowercased() }
            guard let mediaType = parameters.first else { continue }
            let q = QualityValue.of(parameters: parameters.dropFirst())
            var version: String?
            for parameter in parameters.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmed }
                if pair.count == 2 && pair[0] == "version" { version = pair[1] }
            }
            guard q > 0 else { continue }
            let format: ExpositionFormat?
            switch mediaType {
            case "application/openmetrics-text":
                format = version == nil || version == "1.0.0" || version == "0.0.1" ? .openMetrics : nil
            case "text/plain":
                format = version == nil || version == "0.0.4" ? .prometheusText : nil
            case "*/*", "text/*":
                format = .prometheusText
            default:
                format = nil
            }
            guard let format else { continue }
            if let current = best {
                if q > current.q || (q == current.q && format == .openMetrics && current.format != .openMetrics) {
                    best = (format, q)
                }
            } else {
                best = (format, q)
            }
        }
        return best?.format ?? .prometheusText
    }
}

/// How one scrape renders: the format, and whether OpenMetrics gets `_created` samples.
struct RenderOptions {
    var format: ExpositionFormat
    var createdSamples: Bool

    var isOpenMetrics: Bool { format == .openMetrics }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (header parameters).
    var trimmed: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}

// MARK: - Exemplars

/// An exemplar's label set (`trace_id`, `span_id`, ...), checked once and pre-rendered.
///
/// OpenMetrics limits the label names and values of an exemplar together to 128 UTF-8
/// characters; a longer or malformed set is refused (the update itself still counts) and
/// counted as `metricskit_rejected_updates_total{reason="invalid_exemplar"}`.
struct ExemplarLabels {
    /// `{trace_id="…",span_id="…"}`.
    let text: [UInt8]

    static let characterLimit = 128

    init?(_ labels: [String: String]) {
        var characters = 0
        for (name, value) in labels {
            guard Names.isValidLabelName(name) else { return nil }
            characters += name.unicodeScalars.count + value.unicodeScalars.count
        }
        guard characters <= Self.characterLimit else { return nil }
        text = ByteSink.bytes { text in
            text.append(UInt8(ascii: "{"))
            for (index, label) in labels.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                text.append(label.key)
                text.append(Array("=\"".utf8))
                TextWriter.appendEscapedLabelValue(label.value, to: &text)
                text.append(UInt8(ascii: "\""))
            }
            text.append(UInt8(ascii: "}"))
        }
    }
}

/// The latest exemplar of a counter, or of each bucket of a histogram.
final class ExemplarSlots: Sendable {
    struct Exemplar {
        var labels: [UInt8]
        var value: Double
        var timestamp: Double
    }

    private let slots: Mutex<[Exemplar?]>

    init(count: Int) {
        slots = Mutex(Array(repeating: nil, count: count))
    }

    func record(_ exemplar: Exemplar, at index: Int) {
        slots.withLock { $0[index] = exemplar }
    }

    func snapshot() -> [Exemplar?] {
        slots.withLock { $0 }
    }
}

extension TextWriter {
    /// Appends ` # {labels} value timestamp` for an exemplar.
    static func append(_ exemplar: ExemplarSlots.Exemplar, to buffer: inout ByteSink) {
        buffer.append(Array(" # ".utf8))
        buffer.append(exemplar.labels)
        buffer.append(UInt8(ascii: " "))
        append(exemplar.value, to: &buffer)
        buffer.append(UInt8(ascii: " "))
        appendTimestamp(exemplar.timestamp, to: &buffer)
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
