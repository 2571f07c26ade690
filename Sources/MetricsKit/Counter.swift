import Synchronization

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
        fractionBits.add(double: amount)
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
    package func reset() {
        whole.store(0, ordering: .relaxed)
        fractionBits.store(0, ordering: .relaxed)
    }

    override func visit<V: SampleVisitor>(_ visitor: inout V) {
        let fraction = fractionBits.load(ordering: .relaxed)
        let integer = fraction == 0 ? wholeValue : nil
        visitor.visit(
            Sample(
                labels: labelText, value: integer.map { Double($0) } ?? value, integer: integer,
                exemplars: recordedExemplars, created: created))
    }
}
