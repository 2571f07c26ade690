import CZlib

/// gzip compression through zlib, for scrape bodies (Prometheus asks for gzip), into memory a
/// scrape keeps for the next one.
struct GzipBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>?
    private(set) var capacity = 0
    /// The bytes of the last ``compress(_:level:)``.
    private(set) var count = 0

    init() {}

    deinit { base?.deallocate() }

    /// The compressed bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Compresses `input` into one gzip member, replacing what the buffer held; false when zlib
    /// fails (out of memory), and the buffer is then empty. Level 1 by default: scrapes are
    /// frequent and the text is repetitive, so the fastest level already shrinks it several
    /// times over.
    mutating func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 1) -> Bool {
        count = 0
        var stream = z_stream()
        guard metricskit_deflate_init_gzip(&stream, level) == Z_OK else { return false }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        if bound > capacity {
            base?.deallocate()
            capacity = max(bound, capacity * 2)
            base = .allocate(capacity: capacity)
        }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = base
        stream.avail_out = uInt(capacity)
        guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { return false }
        count = Int(stream.total_out)
        return true
    }

    /// Whether an `Accept-Encoding` value accepts gzip (a `gzip` or `*` coding whose q is not 0).
    static func isAccepted(by acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        for part in acceptEncoding.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmed }
            guard let coding = pieces.first?.lowercased(), coding == "gzip" || coding == "*" else { continue }
            let q = pieces.dropFirst().first { $0.lowercased().hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) }
            if (q ?? 1) > 0 { return true }
        }
        return false
    }
}
