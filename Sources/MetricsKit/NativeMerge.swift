/// Merges the buckets of several halves into sorted (index, count) runs, for a scrape.
struct NativeMerge {
    var positive: UnsafeMutableBufferPointer<NativeBucket>
    var negative: UnsafeMutableBufferPointer<NativeBucket>
    var positiveCount = 0
    var negativeCount = 0
    var zeroCount: UInt64 = 0

    mutating func add(_ key: Int32, negative isNegative: Bool, _ count: UInt64) {
        if isNegative {
            Self.insert(key, count, into: negative, used: &negativeCount)
        } else {
            Self.insert(key, count, into: positive, used: &positiveCount)
        }
    }

    private static func insert(
        _ key: Int32, _ count: UInt64, into buckets: UnsafeMutableBufferPointer<NativeBucket>, used: inout Int
    ) {
        var low = 0
        var high = used
        while low < high {
            let mid = (low + high) >> 1
            if buckets[mid].index < key { low = mid + 1 } else { high = mid }
        }
        if low < used && buckets[low].index == key {
            buckets[low].count &+= count
            return
        }
        guard used < buckets.count else { return }
        var i = used
        while i > low {
            buckets[i] = buckets[i - 1]
            i -= 1
        }
        buckets[low] = NativeBucket(index: key, count: count)
        used += 1
    }
}
