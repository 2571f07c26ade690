/// A Prometheus text exposition (format 0.0.4) parsed into families, for tests to read.
///
/// Grouping follows Prometheus' own text parser: `# HELP` and `# TYPE` name a family; a sample
/// belongs to the family before it when its name is the family's, or (for a histogram or
/// summary) the family's name plus `_bucket`, `_sum` or `_count`; any other sample starts an
/// untyped family of its own name.
///
/// ```swift
/// let exposition = try Exposition(registry.render())
/// #expect(exposition.family("orders_total")?.type == "counter")
/// ```
public struct Exposition: Sendable, Hashable {
    /// The families, in the order of the text.
    public var families: [Family]

    /// One metric family: its name, `# TYPE` (nil when untyped), `# HELP` and samples.
    public struct Family: Sendable, Hashable {
        /// The family's name (a counter's includes `_total` in text 0.0.4).
        public var name: String
        /// `counter`, `gauge`, `histogram`, `summary`, `untyped`, or nil without `# TYPE`.
        public var type: String?
        /// The `# HELP` text, unescaped, or nil without one.
        public var help: String?
        /// The samples, in the order of the text.
        public var samples: [Sample]

        /// The label set of each series, in the order of the text: one per sample, except that
        /// a histogram's `_bucket`/`_sum`/`_count` (without `le`) and a summary's samples
        /// (without `quantile`) make one series.
        public var seriesLabels: [[String: String]] {
            var seen: Set<[String: String]> = []
            return samples.compactMap { sample in
                var labels = sample.labels
                if type == "histogram" { labels["le"] = nil }
                if type == "summary" { labels["quantile"] = nil }
                return seen.insert(labels).inserted ? labels : nil
            }
        }
    }

    /// One sample line: `name{labels} value [timestamp]`.
    public struct Sample: Sendable, Hashable {
        /// The sample's name (`…_bucket`, `…_sum`, `…_count` for histograms).
        public var name: String
        /// The labels, unescaped.
        public var labels: [String: String]
        /// The value (`NaN`, `+Inf` and `-Inf` parse).
        public var value: Double
        /// The timestamp in milliseconds, when the line has one.
        public var timestamp: Int64?

        public static func == (lhs: Sample, rhs: Sample) -> Bool {
            lhs.name == rhs.name && lhs.labels == rhs.labels && lhs.timestamp == rhs.timestamp
                && (lhs.value == rhs.value || (lhs.value.isNaN && rhs.value.isNaN))
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            hasher.combine(labels)
            hasher.combine(timestamp)
            hasher.combine(value.isNaN ? Double.nan.bitPattern : value.bitPattern)
        }
    }

    /// The family named `name`, if the text has one.
    public func family(_ name: String) -> Family? {
        families.first { $0.name == name }
    }

    /// Parses `text`; a line that is not valid text 0.0.4 throws ``ExpositionError``, naming
    /// the line.
    public init(_ text: String) throws(ExpositionError) {
        var parser = ExpositionParser()
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            try parser.consume(line, number: number)
        }
        families = parser.families
    }
}

/// A line of an exposition that does not parse.
public struct ExpositionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The 1-based line number.
    public var line: Int
    /// The line's text.
    public var text: String
    /// What is wrong with it.
    public var reason: String

    public var description: String { "line \(line): \(reason): \(text)" }

    /// An error for line `line` (1-based) with text `text`.
    public init(line: Int, text: String, reason: String) {
        self.line = line
        self.text = text
        self.reason = reason
    }
}

/// The line-by-line state of ``Exposition/init(_:)``.
struct ExpositionParser {
    var families: [Exposition.Family] = []

    mutating func consume(_ line: Substring, number: Int) throws(ExpositionError) {
        func fail(_ reason: String) -> ExpositionError {
            ExpositionError(line: number, text: String(line), reason: reason)
        }
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty { return }
        if trimmed.hasPrefix("#") {
            let words = trimmed.dropFirst().drop { $0 == " " }.split(separator: " ", maxSplits: 2)
            guard words.count >= 2, words[0] == "HELP" || words[0] == "TYPE" else { return }  // a comment
            let name = String(words[1])
            let rest = words.count > 2 ? String(words[2]) : ""
            var family = openFamily(name)
            if words[0] == "HELP" {
                guard family.help == nil else { throw fail("second HELP for \(name)") }
                family.help = Self.unescape(rest)
            } else {
                guard family.type == nil else { throw fail("second TYPE for \(name)") }
                guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(rest) else {
                    throw fail("unknown type \"\(rest)\"")
                }
                family.type = rest
            }
            families[families.count - 1] = family
            return
        }
        guard let sample = Self.sample(trimmed) else { throw fail("not a sample line") }
        if let last = families.last, Self.belongs(sample.name, to: last) {
            families[families.count - 1].samples.append(sample)
        } else {
            families.append(Exposition.Family(name: sample.name, type: nil, help: nil, samples: [sample]))
        }
    }

    /// The last family if it is `name` and has no samples yet, else a new one.
    mutating func openFamily(_ name: String) -> Exposition.Family {
        if let last = families.last, last.name == name, last.samples.isEmpty { return last }
        families.append(Exposition.Family(name: name, type: nil, help: nil, samples: []))
        return families[families.count - 1]
    }

    static func belongs(_ sample: String, to family: Exposition.Family) -> Bool {
        if sample == family.name { return true }
        let suffixes: [String] =
            switch family.type {
            case "histogram": ["_bucket", "_sum", "_count"]
            case "summary": ["_sum", "_count"]
            default: []
            }
        return suffixes.contains { sample == family.name + $0 }
    }

    /// `name{a="x",b="y"} value [timestamp]`, or nil.
    static func sample(_ line: Substring) -> Exposition.Sample? {
        var rest = line[...]
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard !name.isEmpty, !name.first!.isNumber else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while true {
                rest = rest.drop { $0 == " " }
                if rest.first == "}" {
                    rest = rest.dropFirst()
                    break
                }
                let label = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                guard !label.isEmpty else { return nil }
                rest = rest.dropFirst(label.count).drop { $0 == " " }
                guard rest.hasPrefix("=\"") else { return nil }
                rest = rest.dropFirst(2)
                var value = ""
                var escaped = false
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(character == "n" ? "\n" : character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed, labels.updateValue(value, forKey: String(label)) == nil else { return nil }
                rest = rest.drop { $0 == " " }
                if rest.first == "," { rest = rest.dropFirst() }
            }
        }
        let fields = rest.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 1 || fields.count == 2, let value = Self.value(fields[0]) else { return nil }
        var timestamp: Int64?
        if fields.count == 2 {
            guard let parsed = Int64(fields[1]) else { return nil }
            timestamp = parsed
        }
        return Exposition.Sample(name: String(name), labels: labels, value: value, timestamp: timestamp)
    }

    static func value(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }

    /// HELP text unescaping (`\\` and `\n`).
    static func unescape(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                result.append(character == "n" ? "\n" : character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
