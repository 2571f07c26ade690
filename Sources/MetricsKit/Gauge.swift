import Synchronization

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
        bits.add(double: amount)
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

    override func visit<V: SampleVisitor>(_ visitor: inout V) {
        visitor.visit(Sample(labels: labelText, value: value))
    }
}
