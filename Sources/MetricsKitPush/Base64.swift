/// Base64 (RFC 4648): the standard alphabet, padded, for HTTP basic credentials; the URL-safe
/// one (`-` and `_`), unpadded, for Pushgateway path segments.
enum Base64 {
    private static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8], urlSafe: Bool) -> String {
        let alphabet = urlSafe ? Self.urlSafe : standard
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var word = UInt32(bytes[i]) << 16
            if n > 1 { word |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { word |= UInt32(bytes[i + 2]) }
            for k in 0...n { out.append(alphabet[Int((word >> UInt32(18 - 6 * k)) & 63)]) }
            if !urlSafe { out += Array(repeating: UInt8(ascii: "="), count: 3 - n) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
