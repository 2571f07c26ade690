import CZlib

/// gzip compression through zlib, for scrape bodies (Prometheus asks for gzip), into memory a
/// scrape keeps for the next one: the output buffer and zlib's own state (about 270 KiB at
/// level 1) are made once and reset per scrape, so a compressed scrape allocates nothing in zlib.
struct GzipBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>?
    private(set) var capacity = 0
    /// The bytes of the last ``compress(_:level:)``.
    private(set) var count = 0
    /// zlib's stream, at a fixed address (zlib keeps a pointer back to it); nil until first use.
    private var stream: UnsafeMutablePointer<z_stream>?
    private var level: Int32 = 0

    init() {}

    deinit {
        base?.deallocate()
        if let stream {
            deflateEnd(stream)
            stream.deallocate()
        }
    }

    /// The compressed bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Compresses `input` into one gzip member, replacing what the buffer held; false when zlib
    /// fails (out of memory), and the buffer is then empty. Level 1 by default: scrapes are
    /// frequent and the text is repetitive, so the fastest level already shrinks it several
    /// times over.
    mutating func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 1) -> Bool {
        count = 0
        guard let stream = prepared(level: level) else { return false }
        let bound = Int(deflateBound(stream, uLong(input.count)))
        if bound > capacity {
            base?.deallocate()
            capacity = max(bound, capacity * 2)
            base = .allocate(capacity: capacity)
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = base
        stream.pointee.avail_out = uInt(capacity)
        guard deflate(stream, Z_FINISH) == Z_STREAM_END else { return false }
        count = Int(stream.pointee.total_out)
        return true
    }

    /// The stream, reset for a new member at `level` (made on first use or a level change).
    private mutating func prepared(level: Int32) -> UnsafeMutablePointer<z_stream>? {
        if let stream, self.level == level, deflateReset(stream) == Z_OK { return stream }
        if let stream {
            deflateEnd(stream)
            stream.deallocate()
            self.stream = nil
        }
        let made = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        made.initialize(to: z_stream())
        guard metricskit_deflate_init_gzip(made, level) == Z_OK else {
            made.deallocate()
            return nil
        }
        stream = made
        self.level = level
        return made
    }

    /// Whether an `Accept-Encoding` value accepts gzip (a `gzip` or `*` coding whose q is not 0).
    static func isAccepted(by acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        for part in acceptEncoding.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmed }
            guard let coding = pieces.first?.lowercased(), coding == "gzip" || coding == "*" else { continue }
            if QualityValue.of(parameters: pieces.dropFirst()) > 0 { return true }
        }
        return false
    }
}
