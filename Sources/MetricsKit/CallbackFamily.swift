/// A counter or gauge whose value a closure supplies at scrape time.
final class CallbackFamily: RegisteredFamily {
    let descriptor: FamilyDescriptor
    private let value: @Sendable () -> Double
    private let labelText: [UInt8]

    init(descriptor: FamilyDescriptor, value: @escaping @Sendable () -> Double) {
        self.descriptor = descriptor
        self.value = value
        self.labelText = descriptor.labelText(for: [])
    }

    func visitSeries<V: SampleVisitor>(_ visitor: inout V) {
        let current = value()
        if descriptor.type == .counter && !(current >= 0 && current.isFinite) {
            descriptor.countRejection(.invalidValue)
            return
        }
        labelText.withUnsafeBufferPointer { visitor.visit(Sample(labels: $0, value: current)) }
    }
}
