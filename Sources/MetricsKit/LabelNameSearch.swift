// Finds the first series that carries one of a set of label names, for clients that add labels
// of their own to what they send (the Pushgateway client adds `job` and the grouping labels,
// which a pushed series must not carry already). Not on any hot path: one pass per push.

/// A series found carrying one of the searched label names.
package struct LabelNameMatch: Sendable, Equatable {
    /// The family (metric) name.
    package var metric: String
    /// The label name found.
    package var label: String
    /// The series' label pairs as the text format writes them (`a="x",b="y"`).
    package var series: String
}

extension MetricRegistry {
    /// The first series (families in name order) carrying a label named one of `names`.
    package func firstSeries(withLabelNamedAnyOf names: Set<String>) -> LabelNameMatch? {
        var search = LabelNameSearch(names: names.map { Array($0.utf8) })
        visit(&search)
        return search.match
    }
}

/// A visitor that stops looking once it found a match (the rest of the pass is skipped cheaply).
private struct LabelNameSearch: SampleVisitor {
    let names: [[UInt8]]
    var match: LabelNameMatch?
    private var family = ""

    init(names: [[UInt8]]) { self.names = names }

    mutating func beginFamily(_ family: FamilyMetadata) {
        if match == nil { self.family = String(decoding: family.name, as: UTF8.self) }
    }

    mutating func visit(_ sample: Sample) { check(sample.labels) }
    mutating func visit(_ histogram: HistogramSample) { check(histogram.labels) }
    mutating func endFamily() {}

    private mutating func check(_ labels: UnsafeBufferPointer<UInt8>) {
        guard match == nil else { return }
        var cursor = LabelPairCursor(labels)
        while let (name, _) = cursor.next() {
            if names.contains(where: { $0.elementsEqual(name) }) {
                match = LabelNameMatch(
                    metric: family, label: String(decoding: name, as: UTF8.self),
                    series: String(decoding: labels, as: UTF8.self))
                return
            }
        }
    }
}
