import MetricsKit

/// How an exposition differs from an expected one, line by line in a canonical form
/// (`# HELP`, `# TYPE`, then `name{labels sorted} value` per sample), order ignored.
public struct ExpositionDifference: Sendable, Hashable, CustomStringConvertible {
    /// Expected lines the actual exposition lacks.
    public var missing: [String]
    /// Actual lines the expected exposition lacks.
    public var unexpected: [String]

    /// Whether the two are equal (up to order, and HELP when ignored).
    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty }

    /// `- missing line` and `+ unexpected line`, one per line; empty when equal.
    public var description: String {
        (missing.map { "- " + $0 } + unexpected.map { "+ " + $0 }).joined(separator: "\n")
    }
}

extension Exposition {
    /// The canonical lines of this exposition: one `# HELP` (unless `ignoringHelp`) and one
    /// `# TYPE` per family that has them, one line per sample with its labels sorted by name and
    /// its value written by Swift's shortest round-trip `Double` formatting.
    public func canonicalLines(ignoringHelp: Bool = false) -> [String] {
        var lines: [String] = []
        for family in families {
            if let help = family.help, !ignoringHelp { lines.append("# HELP \(family.name) \(help)") }
            if let type = family.type { lines.append("# TYPE \(family.name) \(type)") }
            for sample in family.samples {
                let labels = sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
                let value = sample.value.isNaN ? "NaN" : sample.value.isInfinite ? (sample.value > 0 ? "+Inf" : "-Inf") : "\(sample.value)"
                var line = sample.name + (labels.isEmpty ? "" : "{" + labels.joined(separator: ",") + "}") + " " + value
                if let timestamp = sample.timestamp { line += " \(timestamp)" }
                lines.append(line)
            }
        }
        return lines.sorted()
    }

    /// How this exposition differs from `expected`, ignoring the order of families and samples
    /// (and HELP texts when `ignoringHelp`). Values compare as numbers (`1` equals `1.0`).
    ///
    /// ```swift
    /// let difference = try registry.exposition().difference(from: try Exposition(expected))
    /// #expect(difference.isEmpty, "\(difference)")
    /// ```
    public func difference(from expected: Exposition, ignoringHelp: Bool = false) -> ExpositionDifference {
        let actualLines = canonicalLines(ignoringHelp: ignoringHelp)
        let expectedLines = expected.canonicalLines(ignoringHelp: ignoringHelp)
        /// The lines of `lines` beyond as many equal ones in `others` (a multiset difference).
        func surplus(_ lines: [String], over others: [String]) -> [String] {
            var available = Dictionary(others.map { ($0, 1) }, uniquingKeysWith: +)
            return lines.filter { line in
                guard let left = available[line], left > 0 else { return true }
                available[line] = left - 1
                return false
            }
        }
        return ExpositionDifference(
            missing: surplus(expectedLines, over: actualLines), unexpected: surplus(actualLines, over: expectedLines))
    }
}

extension MetricRegistry {
    /// How the registry's text exposition differs from `expected` (text 0.0.4), ignoring order
    /// (and HELP when `ignoringHelp`); throws when either text does not parse.
    ///
    /// ```swift
    /// let difference = try registry.difference(from: """
    ///     # TYPE jobs_total counter
    ///     jobs_total{queue="mail"} 2
    ///     """, ignoringHelp: true)
    /// #expect(difference.isEmpty, "\(difference)")
    /// ```
    public func difference(from expected: String, ignoringHelp: Bool = false) throws(ExpositionError)
        -> ExpositionDifference
    {
        try exposition().difference(from: Exposition(expected), ignoringHelp: ignoringHelp)
    }
}
