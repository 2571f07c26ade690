import CZlib
import MetricsKit

/// gzip compression through zlib, for `/metrics` bodies (Prometheus asks for gzip).
enum Gzip {
    /// Compresses `input` into a gzip member. Level 1: scrapes are frequent and the text is
    /// repetitive, so the fastest level already shrinks it several times over.
    static func compress(_ input: [UInt8], level: Int32 = 1) -> [UInt8]? {
        var stream = z_stream()
        guard metricskit_deflate_init_gzip(&stream, level) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = destination.baseAddress
                stream.avail_out = uInt(destination.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }

    /// Whether an `Accept-Encoding` value accepts gzip (a `gzip` or `*` coding whose q is not 0).
    static func isAccepted(by acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        for part in acceptEncoding.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
            guard let coding = pieces.first?.lowercased(), coding == "gzip" || coding == "*" else { continue }
            if QualityValue.of(parameters: pieces.dropFirst()) > 0 { return true }
        }
        return false
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
