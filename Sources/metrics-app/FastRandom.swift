import Synchronization

/// A lock-free pseudo-random source for delays (splitmix64 over an atomic counter).
final class FastRandom: Sendable {
    private let state = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// A value in `range`, any range of `Int` (no overflow: the span is computed in `UInt64`).
    func next(in range: ClosedRange<Int>) -> Int {
        var z = state.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let span = UInt64(bitPattern: Int64(range.upperBound) &- Int64(range.lowerBound)) &+ 1  // 0: all of Int
        let offset = span == 0 ? z : z % span
        return range.lowerBound &+ Int(truncatingIfNeeded: offset)
    }
}
