import Synchronization

/// Families of one name, type, help and buckets but different label names, exposed as one
/// family (valid in every format): how the swift-metrics backend keeps a metric whose
/// dimension keys differ between call sites without losing either.
final class VariantGroup: RegisteredFamily {
    let members: Mutex<[any RegisteredFamily]>
    let descriptor: FamilyDescriptor

    init(_ members: [any RegisteredFamily]) {
        self.descriptor = members[0].descriptor
        self.members = Mutex(members)
    }

    func visitSeries<V: SampleVisitor>(_ visitor: inout V) {
        for member in members.withLock({ $0 }) { member.visitSeries(&visitor) }
    }

    func rejections(_ reason: RejectionReason) -> UInt64 {
        members.withLock { $0 }.reduce(0) { $0 + $1.descriptor.rejections(reason) }
    }
}
