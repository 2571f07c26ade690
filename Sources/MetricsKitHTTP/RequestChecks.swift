import CMicroHTTPD

#if canImport(Glibc)
    import Glibc
#endif

/// Checks of a request's target and framing that libmicrohttpd 0.9.75 does not make. A request
/// that fails one is answered 400 and its connection closed, so nothing sent after it on that
/// connection is read as a request (RFC 9112 §6.3, §11.2: request smuggling).
enum RequestChecks {
    /// Whether a raw request target (still percent-encoded) has a control byte in its path, raw
    /// or encoded (`%00`-`%1F`, `%7F`). libmicrohttpd decodes `%00` into a NUL that ends the path
    /// early, so `/metrics%00.css` would be served as `/metrics`.
    static func pathHasControlByte(_ target: UnsafePointer<CChar>) -> Bool {
        var p = UnsafeRawPointer(target).assumingMemoryBound(to: UInt8.self)
        while true {
            let byte = p.pointee
            switch byte {
            case 0, UInt8(ascii: "?"), UInt8(ascii: "#"): return false
            case UInt8(ascii: "%"):
                guard let high = hexValue(p[1]), let low = hexValue(p[2]) else { break }
                let decoded = high << 4 | low
                if decoded < 0x20 || decoded == 0x7F { return true }
                p += 2
            default:
                if byte < 0x20 || byte == 0x7F { return true }
            }
            p += 1
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Why the request's header fields make its length ambiguous, or nil when they do not:
    /// a field name that is not a token (such as `Content-Length :` with a space before the
    /// colon, which libmicrohttpd keeps as a different name), `Content-Length` fields that
    /// disagree, `Content-Length` with `Transfer-Encoding`, or a `Transfer-Encoding` other than
    /// a single `chunked`. (HTTP/1.1 without `Host` is refused by libmicrohttpd's strict mode.)
    static func framingProblem(_ connection: OpaquePointer) -> StaticString? {
        var scan = FramingScan()
        _ = withUnsafeMutablePointer(to: &scan) { pointer in
            MHD_get_connection_values(connection, MHD_ValueKind.HEADER_KIND, scanHeader, pointer)
        }
        if scan.badName { return "a header field name is not a token" }
        if scan.conflictingLengths { return "Content-Length fields disagree" }
        if scan.transferEncodings > 0 && scan.contentLength != nil { return "Content-Length with Transfer-Encoding" }
        if scan.transferEncodings > 1 || (scan.transferEncodings == 1 && !scan.chunked) {
            return "Transfer-Encoding other than chunked"
        }
        return nil
    }
}

private struct FramingScan {
    var badName = false
    var contentLength: UnsafePointer<CChar>?
    var conflictingLengths = false
    var transferEncodings = 0
    var chunked = false
}

/// A token character (RFC 9110 §5.6.2).
private let tokenByte: [Bool] = (0..<256).map { byte in
    switch UInt8(byte) {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    default:
        "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
    }
}

private let scanHeader: MHD_KeyValueIterator = { cls, _, key, value in
    let scan = cls!.assumingMemoryBound(to: FramingScan.self)
    guard let key else { return MHD_Result.YES }
    var p = UnsafeRawPointer(key).assumingMemoryBound(to: UInt8.self)
    if p.pointee == 0 { scan.pointee.badName = true }
    while p.pointee != 0 {
        if !tokenByte[Int(p.pointee)] { scan.pointee.badName = true }
        p += 1
    }
    if strcasecmp(key, "Content-Length") == 0, let value {
        if let previous = scan.pointee.contentLength, strcmp(previous, value) != 0 {
            scan.pointee.conflictingLengths = true
        }
        scan.pointee.contentLength = value
    } else if strcasecmp(key, "Transfer-Encoding") == 0 {
        scan.pointee.transferEncodings += 1
        scan.pointee.chunked = value.map { strcasecmp($0, "chunked") == 0 } ?? false
    }
    return MHD_Result.YES
}
