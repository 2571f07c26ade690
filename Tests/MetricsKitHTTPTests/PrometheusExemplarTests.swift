import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real Prometheus (Debian's 2.42, exemplar storage on) scrapes the built metrics-app, which
/// must negotiate OpenMetrics; the exemplars the app attached to traced requests must come back
/// from `/api/v1/query_exemplars`.
@Suite("Prometheus end to end")
struct PrometheusExemplarTests {
    @Test(.timeLimit(.minutes(2)))
    func prometheusStoresTheExemplarsTheAppAttached() throws {
        guard let prometheus = Tools.find("prometheus") else {
            Issue.record("prometheus not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`")
            return
        }
        let app = try AppProcess(["--delay-min", "1", "--delay-max", "5"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metricskit-e2e-\(getpid())-\(app.port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("prometheus.yml")
        try """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: metrics-app
                static_configs:
                  - targets: ["127.0.0.1:\(app.port)"]
            """.write(to: config, atomically: true, encoding: .utf8)
        let webPort = try AppProcess.freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: prometheus)
        server.arguments = [
            "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(webPort)", "--enable-feature=exemplar-storage",
        ]
        let log = Pipe()
        server.standardOutput = log
        server.standardError = log
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }

        let traceID = String(format: "%032x", UInt64.random(in: 1...UInt64.max))
        let deadline = ContinuousClock.now + .seconds(60)
        var found: [String: String]?
        var up = false
        while ContinuousClock.now < deadline && (found == nil || !up) {
            // Keep traffic coming so every scrape sees fresh exemplars.
            for _ in 0..<5 {
                _ = try? RawHTTPClient.get("/", port: app.port, headers: ["traceparent": "00-\(traceID)-00f067aa0ba902b7-01"])
            }
            usleep(500_000)
            let now = Int(Date().timeIntervalSince1970)
            if let exemplars = try? query(
                webPort, "/api/v1/query_exemplars?query=http_request_duration_seconds_bucket&start=\(now - 600)&end=\(now + 60)")
            {
                found = Self.exemplarLabels(in: exemplars).first { $0["trace_id"] == traceID }
            }
            if let result = try? query(webPort, "/api/v1/query?query=up"),
                let data = result["data"] as? [String: Any], let series = data["result"] as? [[String: Any]],
                let value = series.first?["value"] as? [Any]
            {
                up = (value.last as? String) == "1"
            }
        }
        #expect(up, "Prometheus never scraped metrics-app successfully")
        #expect(found != nil, "no exemplar with trace_id \(traceID) in Prometheus")
        #expect(found?["span_id"]?.count == 16)
    }

    private func query(_ port: Int, _ path: String) throws -> [String: Any] {
        let response = try RawHTTPClient.get(path, port: port)
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else { throw RawHTTPClient.Failure(description: "\(response.status): \(response.text)") }
        return object
    }

    /// The label sets of all exemplars in a `query_exemplars` answer.
    static func exemplarLabels(in answer: [String: Any]) -> [[String: String]] {
        guard let data = answer["data"] as? [[String: Any]] else { return [] }
        return data.flatMap { series in
            (series["exemplars"] as? [[String: Any]] ?? []).compactMap { $0["labels"] as? [String: String] }
        }
    }
}
