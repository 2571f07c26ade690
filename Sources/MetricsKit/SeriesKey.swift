/// A series' identity and label text packed into one allocation, owned by the series:
/// `[UInt32 text length][label text][UInt32 length, raw value bytes]...`.
/// The label text is `a="x",b="y"` (escaped, sorted by name, no braces), rendered once; the
/// raw values, in the order of the family's label names, are what lookups compare against.
enum SeriesKey {
    static func allocate(labelText: [UInt8], values: [String]) -> UnsafeMutableBufferPointer<UInt8> {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + labelText.count + values.reduce(0) { $0 + 4 + $1.utf8.count })
        appendLength(labelText.count, to: &bytes)
        bytes += labelText
        for value in values {
            appendLength(value.utf8.count, to: &bytes)
            bytes += value.utf8
        }
        let key = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = key.initialize(from: bytes)
        return key
    }

    private static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian) { bytes += $0 }
    }

    @inline(__always)
    static func length(at pointer: UnsafePointer<UInt8>) -> Int {
        Int(UInt32(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt32.self)))
    }

    @inline(__always)
    static func labelText(_ key: UnsafeMutableBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let base = UnsafePointer(key.baseAddress.unsafelyUnwrapped)
        return UnsafeBufferPointer(start: base + 4, count: length(at: base))
    }

    /// Runs `body` with a cursor on the raw values.
    @inline(__always)
    static func withValues<R>(_ key: UnsafeMutableBufferPointer<UInt8>, _ body: (inout Cursor) -> R) -> R {
        let base = UnsafePointer(key.baseAddress.unsafelyUnwrapped)
        var cursor = Cursor(position: base + 4 + length(at: base), end: base + key.count)
        return body(&cursor)
    }

    /// The raw values of a key, as strings.
    static func values(_ key: UnsafeMutableBufferPointer<UInt8>) -> [String] {
        withValues(key) { cursor in
            var values: [String] = []
            while let bytes = cursor.next() { values.append(String(decoding: bytes, as: UTF8.self)) }
            return values
        }
    }

    /// Walks the raw values of a key in order.
    struct Cursor {
        var position: UnsafePointer<UInt8>
        let end: UnsafePointer<UInt8>

        @inline(__always)
        mutating func next() -> UnsafeBufferPointer<UInt8>? {
            guard end - position >= 4 else { return nil }
            let length = SeriesKey.length(at: position)
            let start = position + 4
            guard end - start >= length else { return nil }
            position = start + length
            return UnsafeBufferPointer(start: start, count: length)
        }

        /// Whether the next value equals `value`, byte for byte.
        @inline(__always)
        mutating func match(_ value: String) -> Bool {
            guard let bytes = next() else { return false }
            if let equal = value.utf8.withContiguousStorageIfAvailable({ utf8 in
                utf8.count == bytes.count && SeriesKey.bytesEqual(utf8.baseAddress, bytes.baseAddress, utf8.count)
            }) {
                return equal
            }
            return value.utf8.elementsEqual(bytes)
        }

        /// Whether the remaining values equal `values`.
        mutating func match(_ values: [String]) -> Bool {
            for value in values where !match(value) { return false }
            return true
        }
    }

    /// Compares `count` bytes inline, a word at a time: label values are short, and a call
    /// into `memcmp` costs more than the comparison.
    @inline(__always)
    static func bytesEqual(_ a: UnsafePointer<UInt8>?, _ b: UnsafePointer<UInt8>?, _ count: Int) -> Bool {
        guard count > 0, let a = UnsafeRawPointer(a), let b = UnsafeRawPointer(b) else { return true }
        var offset = 0
        while offset &+ 8 <= count {
            if a.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != b.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset &+= 8
        }
        while offset < count {
            if a.load(fromByteOffset: offset, as: UInt8.self) != b.load(fromByteOffset: offset, as: UInt8.self) {
                return false
            }
            offset &+= 1
        }
        return true
    }

    /// Orders two keys by their raw values, value by value, as bytes.
    static func valuesPrecede(_ lhs: UnsafeMutableBufferPointer<UInt8>, _ rhs: UnsafeMutableBufferPointer<UInt8>)
        -> Bool
    {
        withValues(lhs) { l in
            withValues(rhs) { r in
                while let a = l.next(), let b = r.next() {
                    if !a.elementsEqual(b) { return a.lexicographicallyPrecedes(b) }
                }
                return false
            }
        }
    }
}
