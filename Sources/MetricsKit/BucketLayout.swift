import Synchronization

/// Bucket bounds shared by every series of a histogram family, kept in one contiguous
/// buffer so `observe` scans them without retain/release or bounds checks.
@usableFromInline
final class BucketLayout: @unchecked Sendable {
    /// Finite upper bounds, ascending; the `+Inf` bucket is implied after them.
    @usableFromInline let bounds: UnsafeMutableBufferPointer<Double>
    /// Number of buckets including `+Inf`.
    @usableFromInline let bucketCount: Int
    /// The `le` pair of each bucket as each text format spells it (rendered once, by the
    /// encoders' rules).
    let textBounds: RenderedBounds
    let openMetricsBounds: RenderedBounds
    /// Serializes scrapes of the family's histograms (the hot/cold swap below).
    let collectLock = Mutex<Void>(())

    init(bounds: [Double]) {
        // At least one element allocated, but the buffer counts only the bounds: a layout
        // without finite bounds (only +Inf) must not scan an uninitialized one.
        let storage = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(bounds.count, 1))
        self.bounds = UnsafeMutableBufferPointer(start: storage.baseAddress, count: bounds.count)
        _ = self.bounds.initialize(from: bounds)
        self.bucketCount = bounds.count + 1
        self.textBounds = TextEncoder.renderBounds(bounds)
        self.openMetricsBounds = OpenMetricsEncoder.renderBounds(bounds)
    }

    deinit {
        UnsafeMutablePointer(bounds.baseAddress!).deallocate()
        textBounds.deallocate()
        openMetricsBounds.deallocate()
    }

    /// Index of the first bucket whose bound is >= value (`bounds.count` for `+Inf`).
    @inlinable @inline(__always)
    func bucketIndex(_ value: Double) -> Int {
        let count = bounds.count
        let base = bounds.baseAddress.unsafelyUnwrapped
        if count <= 16 {
            var i = 0
            while i < count && base[i] < value { i &+= 1 }
            return i
        }
        var low = 0
        var high = count
        while low < high {
            let mid = (low &+ high) >> 1
            if base[mid] < value { low = mid &+ 1 } else { high = mid }
        }
        return low
    }
}
