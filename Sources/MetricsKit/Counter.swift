import Synchronization

/// One time series of a family: a label set and its pre-rendered label text.
///
/// ``Counter``, ``Gauge`` and ``Histogram`` are its subclasses; you do not subclass it yourself.
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

    private func exemplars(creatingWith count: Int) -> ExemplarSlots {
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

    /// Appends this series' sample lines.
    func render(into buffer: inout ByteSink, _ options: RenderOptions) {}

    /// Appends `<name>_created{labels} <seconds>` (OpenMetrics).
    final func appendCreated(into buffer: inout ByteSink) {
        appendSamplePrefix(descriptor.createdNameBytes, into: &buffer)
        TextWriter.appendTimestamp(created, to: &buffer)
        buffer.append(TextWriter.newline)
    }

    /// Appends `name{labels} ` (or `name ` without labels).
    @inline(__always)
    final func appendSamplePrefix(_ name: [UInt8], into buffer: inout ByteSink) {
        appendSamplePrefix(name, labelText: SeriesKey.labelText(key), into: &buffer)
    }

    @inline(__always)
    final func appendSamplePrefix(
        _ name: [UInt8], labelText: UnsafeBufferPointer<UInt8>, into buffer: inout ByteSink
    ) {
        buffer.append(name)
        if labelText.isEmpty {
            buffer.append(UInt8(ascii: " "))
        } else {
            buffer.append(UInt8(ascii: "{"))
            buffer.append(labelText)
            buffer.append(UInt8(ascii: "}"))
            buffer.append(UInt8(ascii: " "))
        }
    }
}

/// A monotonically increasing value: requests served, bytes sent, errors seen.
///
/// Whole-number increments (the common case) are one relaxed atomic add; fractional
/// increments are a compare-and-swap loop on a second word holding the fractional part's
/// bit pattern. The value is the sum of the two.
///
/// A counter only goes up. An increment that is negative, NaN or infinite is refused: the
/// counter keeps its value and the refusal is counted in
/// `metricskit_rejected_updates_total{metric="<name>",reason="invalid_value"}`.
/// It never traps, and never wraps: the whole-number part saturates at 2^63
/// (9223372036854775808); an increment that would take it past that leaves it there and is
/// counted as `invalid_value` too.
public final class Counter: MetricSeries, @unchecked Sendable {
    @usableFromInline let whole = Atomic<UInt64>(0)
    @usableFromInline let fractionBits = Atomic<UInt64>(0)

    override init(descriptor: FamilyDescriptor, labelValues: [String]) {
        super.init(descriptor: descriptor, labelValues: labelValues)
    }

    /// Where the whole-number part saturates. Every add is at most `Int.max` (2^63 - 1), so
    /// from at most here one add cannot wrap the 64-bit word.
    @usableFromInline static let saturation: UInt64 = 1 << 63

    /// Adds one.
    @inlinable
    public func increment() {
        addWhole(1)
    }

    /// Adds a whole number. A negative amount is refused and counted.
    @inlinable
    public func increment(by amount: Int) {
        if amount >= 0 {
            addWhole(UInt64(truncatingIfNeeded: amount))
        } else {
            rejectInvalidValue()
        }
    }

    @inlinable
    @inline(__always)
    func addWhole(_ amount: UInt64) {
        let (old, new) = whole.wrappingAdd(amount, ordering: .relaxed)
        if new > Counter.saturation || new < old { saturate() }
    }

    /// Brings the whole-number part back to the saturation point (readers never see more than
    /// it, so the value does not go down) and counts the refused increment.
    @usableFromInline
    @inline(never)
    func saturate() {
        var current = whole.load(ordering: .relaxed)
        while current != Counter.saturation {
            let (exchanged, original) = whole.weakCompareExchange(
                expected: current, desired: Counter.saturation, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        descriptor.countRejection(.invalidValue)
    }

    /// The whole-number part as readers see it.
    var wholeValue: UInt64 { min(whole.load(ordering: .relaxed), Counter.saturation) }

    /// Adds `amount`. Whole amounts take the atomic-add path, fractional ones a CAS loop.
    /// A negative, NaN or infinite amount is refused and counted; the value is unchanged.
    @inlinable
    public func increment(by amount: Double) {
        // NaN fails the first comparison, +Inf the second.
        if amount >= 0, amount < 9_007_199_254_740_992, amount.rounded(.towardZero) == amount {
            addWhole(UInt64(amount))
        } else {
            addFraction(amount)
        }
    }

    @usableFromInline
    func addFraction(_ amount: Double) {
        guard amount >= 0, amount.isFinite else {
            descriptor.countRejection(.invalidValue)
            return
        }
        var current = fractionBits.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = fractionBits.weakCompareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Adds `amount` and records an exemplar for it, such as
    /// `["trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"]`, rendered in OpenMetrics as the
    /// counter's latest exemplar (never in text 0.0.4). A label set that is malformed or longer
    /// than 128 characters is refused (`reason="invalid_exemplar"`); the increment still counts.
    public func increment(by amount: Double = 1, exemplar labels: [String: String]) {
        increment(by: amount)
        guard amount >= 0, amount.isFinite else { return }
        recordExemplar(labels, value: amount, slot: 0, slotCount: 1)
    }

    /// The current value.
    public var value: Double {
        Double(wholeValue) + Double(bitPattern: fractionBits.load(ordering: .relaxed))
    }

    /// Sets the value back to 0, which Prometheus reads as a counter reset (swift-metrics'
    /// `reset()`; not part of the Prometheus client API).
    @_spi(Variants)
    public func reset() {
        whole.store(0, ordering: .relaxed)
        fractionBits.store(0, ordering: .relaxed)
    }

    override func render(into buffer: inout ByteSink, _ options: RenderOptions) {
        appendSamplePrefix(options.isOpenMetrics ? descriptor.totalNameBytes : descriptor.nameBytes, into: &buffer)
        let fraction = fractionBits.load(ordering: .relaxed)
        if fraction == 0 {
            TextWriter.append(wholeValue, to: &buffer)
        } else {
            TextWriter.append(value, to: &buffer)
        }
        if options.isOpenMetrics {
            if let exemplar = recordedExemplars?.snapshot()[0] { TextWriter.append(exemplar, to: &buffer) }
            buffer.append(TextWriter.newline)
            if options.createdSamples { appendCreated(into: &buffer) }
        } else {
            buffer.append(TextWriter.newline)
        }
    }
}

/// A value that goes up and down: in-flight requests, queue depth, temperature.
///
/// The value is a `Double` kept as its bit pattern in one atomic word: `set` is a store,
/// `increment`/`decrement` a compare-and-swap loop. `set` accepts any value, including NaN
/// and infinities (valid gauge values in Prometheus); an increment or decrement by a NaN or
/// infinite amount is refused and counted as `invalid_value`.
public final class Gauge: MetricSeries, @unchecked Sendable {
    @usableFromInline let bits = Atomic<UInt64>(0)

    override init(descriptor: FamilyDescriptor, labelValues: [String]) {
        super.init(descriptor: descriptor, labelValues: labelValues)
    }

    /// Sets the value.
    @inlinable
    public func set(_ value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    /// Adds `amount` (default 1).
    @inlinable
    public func increment(by amount: Double = 1) {
        guard amount.isFinite else {
            rejectInvalidValue()
            return
        }
        var current = bits.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = bits.weakCompareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Subtracts `amount` (default 1).
    @inlinable
    public func decrement(by amount: Double = 1) {
        increment(by: -amount)
    }

    /// Sets the value to the current Unix time in seconds.
    public func setToCurrentTime() {
        set(WallClock.secondsSinceEpoch())
    }

    /// The current value.
    public var value: Double {
        Double(bitPattern: bits.load(ordering: .relaxed))
    }

    override func render(into buffer: inout ByteSink, _ options: RenderOptions) {
        appendSamplePrefix(descriptor.nameBytes, into: &buffer)
        TextWriter.append(value, to: &buffer)
        buffer.append(TextWriter.newline)
    }
}
