/// The q-value of an HTTP content-negotiation element (`Accept`, `Accept-Encoding`): one rule
/// for every header that has them.
package enum QualityValue {
    /// The weight a `q=` parameter gives (RFC 9110 §12.4.2: `0` to `1` with at most three
    /// decimals). A malformed weight (`q=abc`, `q=2`, `q=-1`) counts as 0, not acceptable.
    package static func parse(_ text: some StringProtocol) -> Double {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1"), bytes.count <= 5
        else { return 0 }
        if bytes.count == 1 { return first == UInt8(ascii: "1") ? 1 : 0 }
        guard bytes[1] == UInt8(ascii: "."), bytes.dropFirst(2).allSatisfy({ (0x30...0x39).contains($0) }) else {
            return 0
        }
        var thousandths = 0
        for index in 2..<5 { thousandths = thousandths * 10 + (index < bytes.count ? Int(bytes[index] - 0x30) : 0) }
        if first == UInt8(ascii: "1") { return thousandths == 0 ? 1 : 0 }
        return Double(thousandths) / 1000
    }

    /// The q-value among an element's parameters (`;`-separated after the value, names
    /// case-insensitive, spaces around them ignored): 1 when there is none.
    package static func of(parameters: some Sequence<some StringProtocol>) -> Double {
        for parameter in parameters {
            let trimmed = parameter.drop { $0 == " " || $0 == "\t" }
            guard let first = trimmed.first, first == "q" || first == "Q", trimmed.dropFirst().first == "=" else {
                continue
            }
            var value = trimmed.dropFirst(2)
            while let last = value.last, last == " " || last == "\t" { value = value.dropLast() }
            return parse(value)
        }
        return 1
    }
}
