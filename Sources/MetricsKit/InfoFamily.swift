/// An info metric: one sample, value 1, whose labels are the facts (a build's version and
/// revision). Fixed at registration.
final class InfoFamily: RegisteredFamily {
    let descriptor: FamilyDescriptor
    private let labelText: [UInt8]

    init(descriptor: FamilyDescriptor) {
        self.descriptor = descriptor
        self.labelText = descriptor.labelText(for: [])
    }

    func visitSeries<V: SampleVisitor>(_ visitor: inout V) {
        labelText.withUnsafeBufferPointer { visitor.visit(Sample(labels: $0, value: 1, integer: 1)) }
    }
}

extension MetricRegistry {
    /// Registers an info metric: facts about the target as the labels of one sample valued 1.
    ///
    /// ```swift
    /// try registry.info("myapp_build_info", help: "The running build.",
    ///                   labels: ["version": "1.4.2", "revision": "9f2c1e0"])
    /// ```
    ///
    /// OpenMetrics renders it as `# TYPE myapp_build info` and `myapp_build_info{revision="9f2c1e0",version="1.4.2"} 1`;
    /// text 0.0.4 and protobuf, which have no info type, as a gauge `myapp_build_info` with the
    /// same sample. Join it to other series in PromQL with `* on(instance) group_left(version)`.
    ///
    /// Registering the same name, help and labels again does nothing; other labels under the
    /// same name throw ``MetricsKitError/Kind/conflictingRegistration``.
    /// - Parameters:
    ///   - name: the metric name; it ends in `_info` (OpenMetrics names the family without it).
    ///   - help: the HELP text.
    ///   - labels: the facts, label name to value (names `[a-zA-Z_][a-zA-Z0-9_]*`).
    public func info(_ name: String, help: String, labels: [String: String]) throws(MetricsKitError) {
        try Names.validateMetricName(name)
        guard name.hasSuffix("_info"), name.count > 5 else {
            throw MetricsKitError(
                .invalidMetricName, metric: name, reason: "an info metric's name ends in _info (OpenMetrics requires it)")
        }
        try Names.validateLabelNames([], constLabels: labels, metric: name, type: .info)
        let descriptor = FamilyDescriptor(name: name, help: help, type: .info, labelNames: [], constLabels: labels)
        try registerFixed(InfoFamily(descriptor: descriptor))
    }
}
