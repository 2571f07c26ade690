/// A growable byte buffer that rendering writes into through a raw pointer: no
/// reference counting, uniqueness checks or generic dispatch per append, which is most of what
/// `[UInt8].append(contentsOf:)` costs for the many short pieces of a scrape.
///
/// A value type holding manually managed memory: whoever creates one calls ``release()``.
struct ByteSink: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        self.base = .allocate(capacity: self.capacity)
    }

    /// Frees the memory; the sink must not be used afterwards.
    func release() { base.deallocate() }

    /// Forgets the contents, keeping the memory.
    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        guard n > 0 else { return }
        if count &+ n > capacity { grow(to: count + n) }
        Self.copy(from: bytes.baseAddress.unsafelyUnwrapped, to: base + count, count: n)
        count &+= n
    }

    /// Copies short runs (names, label text, `le="…"`) with overlapping word moves instead of a
    /// call into memmove, which costs more than the copy for a few dozen bytes.
    @inline(__always)
    private static func copy(from source: UnsafePointer<UInt8>, to destination: UnsafeMutablePointer<UInt8>, count n: Int) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(destination)
        if n >= 8 && n <= 64 {
            var offset = 0
            while offset &+ 8 <= n {
                to.storeBytes(of: from.loadUnaligned(fromByteOffset: offset, as: UInt64.self), toByteOffset: offset, as: UInt64.self)
                offset &+= 8
            }
            if offset < n {
                to.storeBytes(
                    of: from.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 8, as: UInt64.self)
            }
        } else if n < 8 {
            for i in 0..<n { destination[i] = source[i] }
        } else {
            destination.update(from: source, count: n)
        }
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inline(__always)
    mutating func append(_ string: StaticString) {
        append(UnsafeBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { append($0) }
    }

    /// Makes room for `n` more bytes, so a writer can fill them through ``tail``.
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count &+ n > capacity { grow(to: count + n) }
    }

    /// The first byte past the contents (valid after ``reserve(_:)``).
    var tail: UnsafeMutablePointer<UInt8> { base + count }

    /// Records `n` bytes written at ``tail``.
    @inline(__always)
    mutating func advance(by n: Int) { count &+= n }

    /// The contents.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Runs `body` with a fresh sink and returns what it wrote as an array.
    static func bytes(_ body: (inout ByteSink) -> Void) -> [UInt8] {
        var sink = ByteSink()
        defer { sink.release() }
        body(&sink)
        return Array(sink.bytes)
    }
}
