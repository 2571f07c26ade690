import MetricsKit

/// One finding of ``Exposition/lint()``: the family and the text `promtool check metrics`
/// prints for it.
public struct LintProblem: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The family's name.
    public var metric: String
    /// The finding, worded as promtool words it (`counter metrics should have "_total" suffix`).
    public var text: String

    /// Creates a finding for `metric`.
    public init(metric: String, text: String) {
        self.metric = metric
        self.text = text
    }

    /// `metric text`, as promtool prints it.
    public var description: String { "\(metric) \(text)" }

    public static func < (lhs: LintProblem, rhs: LintProblem) -> Bool {
        (lhs.metric, lhs.text) < (rhs.metric, rhs.text)
    }
}

extension Exposition {
    /// The findings `promtool check metrics` (Prometheus 2.42, client_golang's promlint) reports
    /// for this exposition, in its order (by family, then text) and wording: missing HELP,
    /// non-base units (`milliseconds`, `kilobytes`…), a counter without `_total` or another type
    /// with it, `_bucket`/`_count`/`_sum` suffixes and `le`/`quantile` labels reserved to
    /// histograms and summaries, a type name in the metric name, `:` in a name, camelCase names
    /// and label names, abbreviated units (`_ms`, `_kb`…). A finding repeats once per series
    /// where promtool's does (a camelCase label).
    ///
    /// ```swift
    /// #expect(try registry.exposition().lint() == [])
    /// ```
    public func lint() -> [LintProblem] {
        families.flatMap(PromLint.problems).sorted()
    }
}

extension MetricRegistry {
    /// The `promtool check metrics` findings for the registry's text exposition (see
    /// ``Exposition/lint()``); empty when promtool would accept it.
    public func lint() throws(ExpositionError) -> [LintProblem] {
        try exposition().lint()
    }
}

/// The rules of client_golang's promlint, in its order.
enum PromLint {
    static func problems(_ family: Exposition.Family) -> [LintProblem] {
        let name = family.name
        let type = family.type ?? "untyped"
        var texts: [String] = []
        if family.help == nil { texts.append("no help text") }
        if let (unit, base) = unit(in: name), unit != base {
            texts.append("use base unit \"\(base)\" instead of \"\(unit)\"")
        }
        let total = name.hasSuffix("_total")
        if type == "counter" && !total {
            texts.append("counter metrics should have \"_total\" suffix")
        } else if type != "untyped" && type != "counter" && total {
            texts.append("non-counter metrics should not have \"_total\" suffix")
        }
        if type != "untyped" {
            let histogram = type == "histogram"
            let summary = type == "summary"
            if !histogram && name.hasSuffix("_bucket") {
                texts.append("non-histogram metrics should not have \"_bucket\" suffix")
            }
            for suffix in ["_count", "_sum"] where !histogram && !summary && name.hasSuffix(suffix) {
                texts.append("non-histogram and non-summary metrics should not have \"\(suffix)\" suffix")
            }
            for labels in family.seriesLabels {
                for label in labels.keys.sorted() {
                    if !histogram && label == "le" { texts.append("non-histogram metrics should not have \"le\" label") }
                    if !summary && label == "quantile" {
                        texts.append("non-summary metrics should not have \"quantile\" label")
                    }
                }
            }
        }
        let lower = name.lowercased()
        for typeName in typeNames where lower.contains("_\(typeName)_") || lower.hasSuffix("_\(typeName)") {
            texts.append("metric name should not include type '\(typeName)'")
        }
        if name.contains(":") { texts.append("metric names should not contain ':'") }
        if isCamelCase(name) { texts.append("metric names should be written in 'snake_case' not 'camelCase'") }
        for labels in family.seriesLabels {
            for label in labels.keys where isCamelCase(label) {
                texts.append("label names should be written in 'snake_case' not 'camelCase'")
            }
        }
        for abbreviation in unitAbbreviations
        where lower.contains("_\(abbreviation)_") || lower.hasSuffix("_\(abbreviation)") {
            texts.append("metric names should not contain abbreviated units")
        }
        return texts.map { LintProblem(metric: name, text: $0) }
    }

    /// client_model's metric types but untyped, lowercased.
    static let typeNames = ["counter", "gauge", "summary", "histogram", "gauge_histogram"]

    /// A lowercase letter followed by an uppercase one (promlint's `[a-z][A-Z]`).
    static func isCamelCase(_ text: String) -> Bool {
        zip(text.utf8, text.utf8.dropFirst()).contains { (97...122).contains($0) && (65...90).contains($1) }
    }

    /// The first `_`-separated word of `name` that is a known unit with an optional prefix, and
    /// its base unit.
    static func unit(in name: String) -> (unit: String, base: String)? {
        let words = name.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        for (unit, base) in units {
            for prefix in unitPrefixes + [""] where words.contains(prefix + unit) {
                return (prefix + unit, base)
            }
        }
        return nil
    }

    /// Units and their base units (promlint's table).
    static let units: [(String, String)] = [
        ("amperes", "amperes"), ("bytes", "bytes"), ("celsius", "celsius"), ("grams", "grams"), ("joules", "joules"),
        ("kelvin", "kelvin"), ("meters", "meters"), ("metres", "metres"), ("seconds", "seconds"), ("volts", "volts"),
        ("minutes", "seconds"), ("hours", "seconds"), ("days", "seconds"), ("weeks", "seconds"),
        ("kelvins", "kelvin"), ("fahrenheit", "celsius"), ("rankine", "celsius"),
        ("inches", "meters"), ("yards", "meters"), ("miles", "meters"), ("bits", "bytes"), ("calories", "joules"),
        ("pounds", "grams"), ("ounces", "grams"),
    ]

    static let unitPrefixes = [
        "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega", "mibi", "giga",
        "gibi", "tera", "tebi", "peta", "pebi",
    ]

    static let unitAbbreviations = ["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"]
}
