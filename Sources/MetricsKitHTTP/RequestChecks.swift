import CMicroHTTPD
import MetricsKit

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
                guard let high = HexDigit.value(p[1]), let low = HexDigit.value(p[2]) else { break }
                let decoded = high << 4 | low
                if decoded < 0x20 || decoded == 0x7F { return true }
                p += 2
            default:
                if byte < 0x20 || byte == 0x7F { return true }
            }
            p += 1
        }
    }

    /// One pass over the request's header fields: why they make its length ambiguous (nil when
    /// they do not), and its `Content-Length` value. Ambiguous: a field name that is not a token
    /// (such as `Content-Length :` with a space before the colon, which libmicrohttpd keeps as
    /// a different name), `Content-Length` fields that disagree, `Content-Length` with
    /// `Transfer-Encoding`, or a `Transfer-Encoding` other than a single `chunked`. (HTTP/1.1
    /// without `Host` is refused by libmicrohttpd's strict mode.)
    /// The same pass also keeps the `traceparent` value (for exemplars), so instrumenting a
    /// request walks its headers once.
    static func scanHeaders(_ connection: OpaquePointer) -> (
        problem: StaticString?, contentLength: UnsafePointer<CChar>?, traceparent: UnsafePointer<CChar>?
    ) {
        var scan = FramingScan()
        _ = withUnsafeMutablePointer(to: &scan) { pointer in
            MHD_get_connection_values(connection, MHD_ValueKind.HEADER_KIND, scanHeader, pointer)
        }
        return (scan.problem, scan.contentLength, scan.traceparent)
    }
}

private struct FramingScan {
    var badName = false
    var contentLength: UnsafePointer<CChar>?
    var conflictingLengths = false
    var transferEncodings = 0
    var chunked = false
    var traceparent: UnsafePointer<CChar>?

    var problem: StaticString? {
        if badName { return "a header field name is not a token" }
        if conflictingLengths { return "Content-Length fields disagree" }
        if transferEncodings > 0 && contentLength != nil { return "Content-Length with Transfer-Encoding" }
        if transferEncodings > 1 || (transferEncodings == 1 && !chunked) { return "Transfer-Encoding other than chunked" }
        return nil
    }
}

/// A token character (RFC 9110 §5.6.2).
@inline(__always)
private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"),
        UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "^"),
        UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        true
    default:
        false
    }
}

private let contentLengthName: StaticString = "Content-Length"
private let transferEncodingName: StaticString = "Transfer-Encoding"
private let chunkedName: StaticString = "chunked"
private let traceparentName: StaticString = "traceparent"

@inline(__always)
private func equalsIgnoringCase(_ text: UnsafePointer<CChar>, _ name: StaticString) -> Bool {
    name.utf8Start.withMemoryRebound(to: CChar.self, capacity: name.utf8CodeUnitCount + 1) { strcasecmp(text, $0) == 0 }
}

private let scanHeader: MHD_KeyValueIterator = { cls, _, key, value in
    let scan = cls!.assumingMemoryBound(to: FramingScan.self)
    guard let key else { return MHD_Result.YES }
    var p = UnsafeRawPointer(key).assumingMemoryBound(to: UInt8.self)
    if p.pointee == 0 { scan.pointee.badName = true }
    while p.pointee != 0 {
        if !isTokenByte(p.pointee) { scan.pointee.badName = true }
        p += 1
    }
    if equalsIgnoringCase(key, contentLengthName), let value {
        if let previous = scan.pointee.contentLength, strcmp(previous, value) != 0 {
            scan.pointee.conflictingLengths = true
        }
        scan.pointee.contentLength = value
    } else if equalsIgnoringCase(key, transferEncodingName) {
        scan.pointee.transferEncodings += 1
        scan.pointee.chunked = value.map { equalsIgnoringCase($0, chunkedName) } ?? false
    } else if scan.pointee.traceparent == nil, equalsIgnoringCase(key, traceparentName) {
        scan.pointee.traceparent = value  // the first, as a lookup by name would give
    }
    return MHD_Result.YES
}
