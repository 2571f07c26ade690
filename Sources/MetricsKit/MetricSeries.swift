import Synchronization

/// One time series of a family: a label set and its pre-rendered label text.
///
/// ``Counter``, ``Gauge``, ``Histogram`` and ``StateSet`` are its subclasses; you do not subclass it yourself.
public class MetricSeries: @unchecked Sendable {
    /// The family this series belongs to (names, header, rejection counters).
    let descriptor: FamilyDescriptor
    /// The label text and the raw label values in one allocation (see ``SeriesKey``).
    let key: UnsafeMutableBufferPointer<UInt8>
    /// When the series was created, Unix seconds (OpenMetrics `_created`).
    let created: Double
    /// An `ExemplarSlots` (retained), created by the first exemplar; 0 until then, so series
    /// that never see one pay a word.
    private let exemplarSlots = Atomic<UInt>(0)

    init(descriptor: FamilyDescriptor, labelValues: [String]) {
        self.descriptor = descriptor
        self.key = SeriesKey.allocate(labelText: descriptor.labelText(for: labelValues), values: labelValues)
        self.created = WallClock.secondsSinceEpoch()
    }

    deinit {
        key.deallocate()
        let slots = exemplarSlots.load(ordering: .acquiring)
        if slots != 0 { Unmanaged<ExemplarSlots>.fromOpaque(UnsafeRawPointer(bitPattern: slots)!).release() }
    }

    /// Records `labels` as the latest exemplar of slot `index` (a histogram bucket; 0 for a
    /// counter), or counts it refused.
    final func recordExemplar(_ labels: [String: String], value: Double, slot index: Int, slotCount: Int) {
        guard let checked = ExemplarLabels(labels) else {
            descriptor.countRejection(.invalidExemplar)
            return
        }
        let exemplar = ExemplarSlots.Exemplar(
            labels: checked.text, value: value, timestamp: WallClock.secondsSinceEpoch())
        exemplars(creatingWith: slotCount).record(exemplar, at: index)
    }

    func exemplars(creatingWith count: Int) -> ExemplarSlots {
        if let existing = recordedExemplars { return existing }
        let slots = ExemplarSlots(count: count)
        let bits = UInt(bitPattern: Unmanaged.passRetained(slots).toOpaque())
        let (stored, current) = exemplarSlots.compareExchange(
            expected: 0, desired: bits, ordering: .acquiringAndReleasing)
        if stored { return slots }
        Unmanaged.passUnretained(slots).release()
        return Unmanaged<ExemplarSlots>.fromOpaque(UnsafeRawPointer(bitPattern: current)!).takeUnretainedValue()
    }

    /// The exemplars recorded so far, if any.
    final var recordedExemplars: ExemplarSlots? {
        let bits = exemplarSlots.load(ordering: .acquiring)
        guard bits != 0 else { return nil }
        return Unmanaged<ExemplarSlots>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue()
    }

    /// The values of the family's variable labels, in the order of its label names.
    public var labelValues: [String] { SeriesKey.values(key) }

    /// Counts an update refused for its value (kept out of line: the hot path only branches here).
    @usableFromInline
    @inline(never)
    final func rejectInvalidValue() {
        descriptor.countRejection(.invalidValue)
    }

    /// Hands this series' samples to `visitor` (each subclass says what it holds; encoders
    /// decide how it is written).
    func visit<V: SampleVisitor>(_ visitor: inout V) {}

    /// The pre-rendered label pairs `a="x",b="y"`.
    final var labelText: UnsafeBufferPointer<UInt8> { SeriesKey.labelText(key) }
}
