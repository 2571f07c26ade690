/// The self-metric `metricskit_rejected_updates_total{metric, reason}`: the updates each
/// family refused, exposed only once something was refused.
final class RejectedUpdatesFamily: RegisteredFamily {
    let descriptor = FamilyDescriptor(
        name: MetricRegistry.rejectedUpdatesMetricName,
        help: "Updates MetricsKit refused: series over the family's limit, wrong label count, invalid values or exemplars.",
        type: .counter, labelNames: ["metric", "reason"], constLabels: [:])
    private unowned let registry: MetricRegistry

    init(registry: MetricRegistry) {
        self.registry = registry
    }

    func visit<V: SampleVisitor>(_ visitor: inout V) {
        let entries = registry.entries
        guard entries.contains(where: { Self.refused($0.1) }) else { return }
        descriptor.withMetadata { metadata in
            visitor.beginFamily(metadata)
            visitRejections(entries, &visitor)
            visitor.endFamily()
        }
    }

    /// Whether a family refused anything (without allocating: scrapes check it every time).
    private static func refused(_ entry: MetricRegistry.Entry) -> Bool {
        guard case .family(let family) = entry else { return false }
        for reason in RejectionReason.allCases where family.rejections(reason) > 0 { return true }
        return false
    }

    private func visitRejections<V: SampleVisitor>(_ entries: [(String, MetricRegistry.Entry)], _ visitor: inout V) {
        var labels = ByteSink(capacity: 128)
        defer { labels.release() }
        for case (_, .family(let family)) in entries {
            for reason in RejectionReason.allCases {
                let count = family.rejections(reason)
                guard count > 0 else { continue }
                labels.removeAll()
                labels.append(#"metric=""#)
                TextWriter.appendEscapedLabelValue(family.descriptor.name, to: &labels)
                labels.append(#"",reason=""#)
                labels.append(reason.label)
                labels.append(UInt8(ascii: "\""))
                visitor.visit(Sample(labels: labels.bytes, value: Double(count), integer: count))
            }
        }
    }

    func visitSeries<V: SampleVisitor>(_ visitor: inout V) {}
}
