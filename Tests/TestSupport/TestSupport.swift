// Shared by the test targets: running the independent checkers (promtool, Python's
// prometheus_client, gzip, prometheus) and reading /metrics bodies.
import Foundation
import Testing

/// The repository's root directory.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Tools the tests run.
public enum TestTools {
    /// The path of an executable on PATH (or in /usr/bin, /bin, /usr/local/bin), or nil.
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/local/bin"])
            .map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The repository's Python venv interpreter (made by `make test`), or nil.
    public static var venvPython: String? {
        let python = repositoryRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: python) ? python : nil
    }

    /// Runs `executable` with `input` on stdin; returns its exit status and output (stdout,
    /// then stderr). The input is written from another thread so a large body cannot deadlock.
    public static func run(_ executable: String, _ arguments: [String], input: [UInt8]) throws -> (Int32, [UInt8]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, Array(output))
    }

    /// ``run(_:_:input:)`` with text in and out.
    public static func run(_ executable: String, _ arguments: [String], input: String) throws -> (Int32, String) {
        let (status, output) = try run(executable, arguments, input: Array(input.utf8))
        return (status, String(decoding: output, as: UTF8.self))
    }
}

/// Parses `name{labels} value` lines of a text body into a dictionary (a test helper, not a
/// full parser: the independent parsers do that).
public func parseSamples(_ text: String) -> [String: Double] {
    var result: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        result[String(line[..<space])] = Double(line[line.index(after: space)...])
    }
    return result
}

/// The independent Python parsers of Tests/conformance.
public enum Conformance {
    /// Runs one of the Python parsers in Tests/conformance (`parse_openmetrics.py`,
    /// `parse_text.py`) on `text`; its families as JSON, or nil (with the issue recorded) when
    /// the venv is missing.
    public static func parse(_ script: String, _ text: String) throws -> [[String: Any]]? {
        guard let python = TestTools.venvPython else {
            Issue.record(".venv/bin/python not found: run `make test` (it creates .venv with prometheus-client), or python3 -m venv .venv && .venv/bin/pip install prometheus-client")
            return nil
        }
        let path = repositoryRoot.appendingPathComponent("Tests/conformance/\(script)").path
        let (status, output) = try TestTools.run(python, [path], input: text)
        try #require(status == 0, "\(script) failed:\n\(output)\n--- body ---\n\(text)")
        return try #require(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]], "not JSON: \(output)")
    }
}
