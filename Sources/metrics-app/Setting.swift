import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// One command-line setting, declared once: its flag, its default, its allowed range and what
/// it does. The environment variable follows from the flag (`--max-connections` reads
/// `METRICS_APP_MAX_CONNECTIONS`), and the help text is made from these fields, so the help,
/// the resolved ``Settings`` and the environment fallback cannot disagree.
struct Setting<Value: Sendable>: Sendable {
    /// The long flag without its dashes: `max-connections`.
    let name: String
    /// The value when neither the flag nor the environment variable is set.
    let defaultValue: Value
    /// How the help text shows the default.
    let defaultText: String
    /// The allowed values of a number.
    let range: ClosedRange<Int>?
    /// What it does, one or more sentences.
    let summary: String

    init(_ name: String, default value: Value, shown: String? = nil, range: ClosedRange<Int>? = nil, _ summary: String) {
        self.name = name
        self.defaultValue = value
        self.defaultText = shown ?? "\(value)"
        self.range = range
        self.summary = summary
    }

    /// `--max-connections`.
    var flag: String { "--" + name }

    /// `METRICS_APP_MAX_CONNECTIONS`.
    var environmentName: String { "METRICS_APP_" + String(name.uppercased().map { $0 == "-" ? "_" : $0 }) }

    /// The flag's name for ArgumentParser.
    var argumentName: NameSpecification { .customLong(name) }

    /// The help text: what it does, the range, the environment variable and the default.
    var help: ArgumentHelp {
        let allowed = range.map { " Allowed: \($0.text)." } ?? ""
        return ArgumentHelp("\(summary)\(allowed) [env: \(environmentName)] (default: \(defaultText))")
    }

    /// The environment variable's value, nil when unset or empty.
    var environmentValue: String? {
        guard let value = getenv(environmentName) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// Where a value came from, for errors: the flag, or the variable and its flag.
    func source(fromFlag: Bool) -> String { fromFlag ? flag : "\(environmentName) (\(flag))" }
}

extension Setting where Value == Int {
    /// The flag's value, else the environment variable's, else `fallback` (the default unless
    /// it depends on another setting); an error naming the flag and its range when outside it.
    func resolve(_ value: Int?, default fallback: Int? = nil) throws -> Int {
        var resolved = value
        if resolved == nil, let text = environmentValue {
            guard let number = Int(text.trimmingSpaces) else {
                throw ValidationError("\(environmentName): \"\(text)\" is not a whole number")
            }
            resolved = number
        }
        let result = resolved ?? fallback ?? defaultValue
        if let range, !range.contains(result) {
            throw ValidationError("\(source(fromFlag: value != nil)): \(result) is out of range; allowed: \(range.text)")
        }
        return result
    }
}

extension Setting where Value == String {
    /// The flag's value, else the environment variable's, else the default.
    func resolve(_ value: String?) -> String { value ?? environmentValue ?? defaultValue }
}

extension Setting where Value == Bool {
    /// The flag's value, else the environment variable's (`true`/`false`), else the default.
    func resolve(_ value: Bool?) throws -> Bool {
        if let value { return value }
        guard let text = environmentValue else { return defaultValue }
        guard let parsed = Bool(text.lowercased()) else {
            throw ValidationError("\(environmentName): \"\(text)\" is not true or false")
        }
        return parsed
    }
}

extension ClosedRange<Int> {
    /// `0 to 65535`.
    var text: String { "\(lowerBound) to \(upperBound)" }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}
