import Synchronization

/// Everything about a family that does not change after registration, shared by its series:
/// names, label order, and the rejection counters. It knows no exposition format.
final class FamilyDescriptor: Sendable {
    let name: String
    let help: String
    let type: MetricType
    let labelNames: [String]
    /// Constant labels, sorted by name.
    let constLabels: [(name: String, value: String)]
    /// Histogram bucket bounds (without `+Inf`); empty for other types.
    let buckets: [Double]
    /// A histogram's native bucket options, if it has native buckets.
    let native: NativeHistogramOptions?
    /// A state set's states, in the order they are rendered; empty for other types.
    let states: [String]

    /// The name and help as UTF-8 bytes, for encoders.
    let nameBytes: [UInt8]
    let helpBytes: [UInt8]

    /// How to lay out a series' label pairs: all label names (constant and variable) sorted,
    /// each pointing at a constant value or at a position of the variable values.
    private let labelOrder: [(name: [UInt8], source: LabelSource)]
    private enum LabelSource { case constant(String), variable(Int) }

    private let rejectedSeriesLimit = Atomic<UInt64>(0)
    private let rejectedLabelCount = Atomic<UInt64>(0)
    private let rejectedInvalidValue = Atomic<UInt64>(0)
    private let rejectedInvalidExemplar = Atomic<UInt64>(0)

    init(name: String, help: String, type: MetricType, labelNames: [String], constLabels: [String: String],
         buckets: [Double] = [], native: NativeHistogramOptions? = nil, states: [String] = []) {
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labelNames
        self.constLabels = constLabels.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        self.buckets = buckets
        self.native = native
        self.states = states

        self.nameBytes = Array(name.utf8)
        self.helpBytes = Array(help.utf8)

        var order = self.constLabels.map { (name: $0.name, source: LabelSource.constant($0.value)) }
        order += labelNames.enumerated().map { (name: $0.element, source: LabelSource.variable($0.offset)) }
        order.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        self.labelOrder = order.map { (name: Array($0.name.utf8), source: $0.source) }
    }

    /// The names this family uses in either format (family names, samples, `_created`),
    /// which no other family may use: a counter `foo_total` also claims `foo` (its OpenMetrics
    /// family name) and `foo_created`.
    var sampleNames: [String] {
        let openMetricsName = OpenMetricsEncoder.familyName(name, type: type)
        return switch type {
        case .histogram: [name, name + "_bucket", name + "_sum", name + "_count", name + "_created"]
        case .counter: Array(Set([name, openMetricsName, openMetricsName + "_total", openMetricsName + "_created"]))
        case .info: Array(Set([name, openMetricsName]))
        case .gauge, .untyped, .stateset: [name]
        }
    }

    /// Whether another registration asks for exactly this definition.
    func hasSameDefinition(as other: FamilyDescriptor) -> Bool {
        name == other.name && help == other.help && type == other.type && labelNames == other.labelNames
            && constLabels.elementsEqual(other.constLabels, by: { $0 == $1 })
            && buckets == other.buckets && native == other.native && states == other.states
    }

    /// Renders `a="x",b="y"` (no braces) for one series: label values escaped, pairs sorted by name.
    func labelText(for values: [String]) -> [UInt8] {
        ByteSink.bytes { text in
            for (index, pair) in labelOrder.enumerated() {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                text.append(pair.name)
                text.append(UInt8(ascii: "="))
                text.append(UInt8(ascii: "\""))
                switch pair.source {
                case .constant(let value): TextWriter.appendEscapedLabelValue(value, to: &text)
                case .variable(let position):
                    TextWriter.appendEscapedLabelValue(position < values.count ? values[position] : "", to: &text)
                }
                text.append(UInt8(ascii: "\""))
            }
        }
    }

    /// Runs `body` with the family's name, help and type as an encoder wants them.
    @inline(__always)
    func withMetadata<R>(_ body: (FamilyMetadata) -> R) -> R {
        nameBytes.withUnsafeBufferPointer { name in
            helpBytes.withUnsafeBufferPointer { help in body(FamilyMetadata(name: name, help: help, type: type)) }
        }
    }

    // MARK: Rejections

    func countRejection(_ reason: RejectionReason) {
        switch reason {
        case .seriesLimit: rejectedSeriesLimit.wrappingAdd(1, ordering: .relaxed)
        case .labelCount: rejectedLabelCount.wrappingAdd(1, ordering: .relaxed)
        case .invalidValue: rejectedInvalidValue.wrappingAdd(1, ordering: .relaxed)
        case .invalidExemplar: rejectedInvalidExemplar.wrappingAdd(1, ordering: .relaxed)
        }
    }

    func rejections(_ reason: RejectionReason) -> UInt64 {
        switch reason {
        case .seriesLimit: rejectedSeriesLimit.load(ordering: .relaxed)
        case .labelCount: rejectedLabelCount.load(ordering: .relaxed)
        case .invalidValue: rejectedInvalidValue.load(ordering: .relaxed)
        case .invalidExemplar: rejectedInvalidExemplar.load(ordering: .relaxed)
        }
    }
}
