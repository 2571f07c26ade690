/// A W3C Trace Context `traceparent` value (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`),
/// parsed for exemplars: MetricsKitHTTP reads it from a request header, MetricsKitTracing from
/// what the installed tracer injects for the current span.
package struct Traceparent: Sendable, Equatable {
    /// 32 lowercase hex digits, not all zero.
    package let traceID: String
    /// 16 lowercase hex digits, not all zero.
    package let spanID: String
    /// The trace flags; bit 0 is `sampled`.
    package let flags: UInt8

    /// Whether the caller marked the trace as sampled (recorded by its tracer).
    package var sampled: Bool { flags & 1 != 0 }

    /// Parses a header value; nil when it is not a valid `traceparent` (wrong lengths, non-hex
    /// digits, version `ff`, an all-zero trace or span id).
    package init?(_ header: String) {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        // Lengths in bytes and ASCII hex only (Character.isHexDigit also takes fullwidth digits);
        // version 00 has exactly four fields, later versions may append more.
        guard parts.count >= 4, parts[0].utf8.count == 2, parts[0] != "ff", parts[0] != "00" || parts.count == 4,
            parts[1].utf8.count == 32, parts[2].utf8.count == 16, parts[3].utf8.count == 2,
            parts.prefix(4).allSatisfy({ $0.utf8.allSatisfy { HexDigit.value($0) != nil } }),
            parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }),
            let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        traceID = parts[1].lowercased()
        spanID = parts[2].lowercased()
        self.flags = flags
    }

    /// The exemplar label set `{trace_id, span_id}`.
    package var exemplarLabels: [String: String] { ["trace_id": traceID, "span_id": spanID] }
}
