/// What a registry keeps: a family that hands its samples to a visitor.
protocol RegisteredFamily: AnyObject, Sendable {
    var descriptor: FamilyDescriptor { get }
    /// Hands the family to `visitor`: metadata, samples, end.
    func visit<V: SampleVisitor>(_ visitor: inout V)
    /// Hands only the samples (a variant group gathers its members' under one header).
    func visitSeries<V: SampleVisitor>(_ visitor: inout V)
    /// Updates refused for `reason`.
    func rejections(_ reason: RejectionReason) -> UInt64
}

extension RegisteredFamily {
    func visit<V: SampleVisitor>(_ visitor: inout V) {
        descriptor.withMetadata { metadata in
            visitor.beginFamily(metadata)
            visitSeries(&visitor)
            visitor.endFamily()
        }
    }

    func rejections(_ reason: RejectionReason) -> UInt64 { descriptor.rejections(reason) }
}
