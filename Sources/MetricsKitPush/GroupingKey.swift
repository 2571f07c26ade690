// The Pushgateway's URL path for a group: `/metrics/job/<job>{/<label>/<value>}`.
//
// A value containing `/` cannot go into a path segment, and an empty one would leave an empty
// segment: the Pushgateway API takes both as `<label>@base64/<URL-safe base64 of the value>`,
// an empty value as `=`. Other values are percent-encoded (every byte but `A-Z a-z 0-9 - . _ ~`),
// which the gateway decodes. (client_golang base64-encodes only values with `/`, unpadded.)

enum GroupingKey {
    /// The path for `job` and `grouping`, labels in name order (so a group has one path).
    static func path(job: String, grouping: [String: String]) -> String {
        var path = "/metrics" + segment("job", job)
        for name in grouping.keys.sorted() { path += segment(name, grouping[name]!) }
        return path
    }

    /// `/<name>/<value>`, or `/<name>@base64/<encoded>` for values with `/` or empty ones.
    static func segment(_ name: String, _ value: String) -> String {
        if value.isEmpty { return "/\(name)@base64/=" }
        if value.contains("/") { return "/\(name)@base64/\(Base64.encode(Array(value.utf8), urlSafe: true))" }
        return "/\(name)/\(percentEncoded(value))"
    }

    /// Percent-encodes every byte outside the URL's unreserved characters.
    static func percentEncoded(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
