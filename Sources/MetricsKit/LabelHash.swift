/// A fast seeded hash over the UTF-8 bytes of label values (8 bytes per step), with a
/// per-family random seed so that crafted label values cannot aim at one slot.
enum LabelHash {
    static func hash(_ values: [String], seed: UInt64) -> UInt64 {
        var h = seed
        for value in values { h = mix(h, value) }
        return finish(h)
    }

    @inline(__always)
    static func mix(_ state: UInt64, _ value: String) -> UInt64 {
        if let hash = value.utf8.withContiguousStorageIfAvailable({ mix(state, $0) }) { return hash }
        var copy = value
        copy.makeContiguousUTF8()
        return copy.utf8.withContiguousStorageIfAvailable { mix(state, $0) }!
    }

    @inline(__always)
    static func mix(_ state: UInt64, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let count = bytes.count
        var h = (state ^ UInt64(truncatingIfNeeded: count)) &* k
        guard let p = UnsafeRawPointer(bytes.baseAddress), count > 0 else { return h }
        if count >= 8 {
            var offset = 0
            while offset + 8 < count {
                h = step(h, p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset += 8
            }
            // The last 8 bytes, overlapping the previous word when the count is not a multiple of 8.
            return step(h, p.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
        }
        let word: UInt64
        if count >= 4 {
            word = UInt64(p.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(p.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
        } else {
            word = UInt64(p.load(as: UInt8.self)) << 16 | UInt64(p.load(fromByteOffset: count >> 1, as: UInt8.self)) << 8
                | UInt64(p.load(fromByteOffset: count - 1, as: UInt8.self))
        }
        return step(h, word)
    }

    private static let k: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    private static func step(_ h: UInt64, _ word: UInt64) -> UInt64 {
        let m = (h ^ word).multipliedFullWidth(by: k)
        return m.high ^ m.low
    }

    @inline(__always)
    static func finish(_ state: UInt64) -> UInt64 {
        var h = state
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h | 1  // never 0: 0 marks an empty slot
    }
}
