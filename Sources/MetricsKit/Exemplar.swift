import Synchronization

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
    /// When the next exemplar attempt from the current trace is due (monotonic nanoseconds;
    /// see `MetricSeries.claimExemplarAttempt`).
    let nextAttempt = Atomic<UInt64>(0)

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
