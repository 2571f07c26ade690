/// The families a scrape asks for with `name[]` query parameters
/// (`/metrics?name[]=http_requests_total&name[]=process_cpu_seconds_total`), as client_golang's
/// promhttp and client_java's scrape handler serve them.
///
/// A family is selected when a name is its registered name, or, for a name ending in `_total`,
/// that name without `_total` (the counter's OpenMetrics family name, client_java's form).
/// Names that match nothing select nothing: the body is then empty (`# EOF` alone in
/// OpenMetrics), as in client_golang.
public struct NameFilter: Sendable, Hashable {
    /// The names asked for.
    public var names: Set<String>

    /// A filter selecting `names`.
    public init(_ names: Set<String>) {
        self.names = names
    }

    /// The `name[]` values of a URL query string (`a=1&name[]=x&name%5B%5D=y`, without the `?`),
    /// percent-decoded; nil when it has none (a scrape of everything).
    public init?(query: String?) {
        guard let query else { return nil }
        var names: Set<String> = []
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.percentDecoded(parts[0]) == "name[]", parts.count == 2 else { continue }
            names.insert(Self.percentDecoded(parts[1]))
        }
        guard !names.isEmpty else { return nil }
        self.names = names
    }

    /// Whether the family registered as `name` is selected.
    func selects(_ name: String) -> Bool {
        names.contains(name) || (name.hasSuffix("_total") && names.contains(String(name.dropLast(6))))
    }

    /// `text` with `%XX` escapes decoded and `+` as a space (form encoding); a malformed escape
    /// stays as it is.
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let high = HexDigit.value(utf8[utf8.startIndex]), let low = HexDigit.value(utf8[utf8.index(after: utf8.startIndex)])
            {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Percent-escape digits, for the query here and the request path checks of MetricsKitHTTP.
package enum HexDigit {
    /// The value of an ASCII hex digit (either case), or nil.
    package static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The registry seen through a ``NameFilter``: what an encoder renders for a filtered scrape.
struct FilteredRegistry: SampleSource {
    let registry: MetricRegistry
    let filter: NameFilter

    func visit<V: SampleVisitor>(_ visitor: inout V) {
        registry.visit(&visitor, only: filter)
    }
}

extension MetricRegistry {
    /// Renders the families `filter` selects (all when nil) in `format` into `sink`.
    func render(_ format: ExpositionFormat, only filter: NameFilter?, into sink: inout ByteSink) {
        guard let filter else { return render(format, into: &sink) }
        format.encode(FilteredRegistry(registry: self, filter: filter), into: &sink, createdSamples: openMetricsCreatedSamples)
    }

    /// Renders the families `filter` selects in `format` as a `String`.
    public func render(_ format: ExpositionFormat = .prometheusText, only filter: NameFilter) -> String {
        var sink = ByteSink(capacity: 4096)
        defer { sink.release() }
        render(format, only: filter, into: &sink)
        return String(decoding: sink.bytes, as: UTF8.self)
    }
}
