import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real Prometheus (Debian's 2.42) scraping one target every second, in a temporary
/// directory of its own; terminated and cleaned up when released.
final class PrometheusProcess {
    let webPort: Int
    private let server = Process()
    private let directory: URL

    /// Starts Prometheus with `flags` (such as `--enable-feature=native-histograms`) and the
    /// scrape's URL `params` (such as `["name[]": [...]]`); nil when no prometheus binary is
    /// installed.
    init?(scraping port: Int, flags: [String], params: [String: [String]] = [:]) throws {
        guard let prometheus = Tools.find("prometheus") else { return nil }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("metricskit-e2e-\(getpid())-\(port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("prometheus.yml")
        let paramLines = params.isEmpty ? "" : "\n    params:" + params.map { name, values in
            "\n      \"\(name)\": [\(values.map { "\"\($0)\"" }.joined(separator: ", "))]"
        }.joined()
        try """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: metrics-app
                static_configs:
                  - targets: ["127.0.0.1:\(port)"]\(paramLines)
            """.write(to: config, atomically: true, encoding: .utf8)
        webPort = try AppProcess.freePort()
        server.executableURL = URL(fileURLWithPath: prometheus)
        server.arguments = [
            "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(webPort)",
        ] + flags
        let log = Pipe()
        server.standardOutput = log
        server.standardError = log
        try server.run()
    }

    deinit {
        server.terminate()
        server.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// GETs an HTTP API path and returns the decoded JSON object.
    func query(_ path: String) throws -> [String: Any] {
        let response = try RawHTTPClient.get(path, port: webPort)
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else { throw RawHTTPClient.Failure(description: "\(response.status): \(response.text)") }
        return object
    }

    /// The result list of an instant query (`/api/v1/query`), percent-encoding the expression.
    func instant(_ expression: String) throws -> [[String: Any]] {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
        let answer = try query("/api/v1/query?query=\(encoded)")
        return (answer["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
    }

    /// The value of the first sample of an instant query, if any.
    func value(_ expression: String) throws -> Double? {
        guard let value = try instant(expression).first?["value"] as? [Any], let text = value.last as? String else {
            return nil
        }
        return Double(text)
    }

    /// Whether Prometheus has scraped its target successfully (and is still this process: one
    /// that lost its port to another exits, and the port's answers are not its own).
    var targetIsUp: Bool { server.isRunning && (try? value("up")) == 1 }
}
