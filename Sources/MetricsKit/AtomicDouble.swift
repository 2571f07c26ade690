import Synchronization

extension Atomic where Value == UInt64 {
    /// Adds `amount` to the `Double` whose bit pattern this word holds: a relaxed
    /// compare-and-swap loop (there is no atomic floating-point add). The one place for it:
    /// counters' fractional part, gauges, histogram sums and the fold of their stripes.
    @inlinable
    @inline(__always)
    func add(double amount: Double) {
        var current = load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + amount).bitPattern
            let (exchanged, original) = weakCompareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
