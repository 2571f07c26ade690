import Foundation
import MetricsKit
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real Pushgateway (Debian's prometheus-pushgateway) on a free loopback port, without
/// persistence (Debian's default `--persistence.file` is /var/lib/prometheus/pushgateway.data:
/// the tests must neither read nor write it); terminated when released.
final class PushgatewayProcess {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let port: Int
    private let server: Process

    var url: String { "http://127.0.0.1:\(port)" }

    private var webConfig: URL?

    /// Starts the gateway; `webConfig` (exporter-toolkit's web configuration YAML, such as
    /// `basic_auth_users`) is written to a temporary file and passed as `--web.config.file`.
    init(webConfig: String? = nil) throws {
        guard let binary = TestTools.find("prometheus-pushgateway") else {
            throw Failure(description: "prometheus-pushgateway is not installed: run `make deps-test` "
                + "(or apt-get install prometheus-pushgateway)")
        }
        var flags = ["--persistence.file=", "--log.level=warn"]
        if let webConfig {
            let file = FileManager.default.temporaryDirectory
                .appendingPathComponent("metricskit-pushgateway-web-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yml")
            try webConfig.write(to: file, atomically: true, encoding: .utf8)
            self.webConfig = file
            flags.append("--web.config.file=\(file.path)")
        }
        var lastLog = ""
        for _ in 0..<3 {
            let port = try LoopbackPort.free()
            let server = Process()
            server.executableURL = URL(fileURLWithPath: binary)
            server.arguments = ["--web.listen-address=127.0.0.1:\(port)"] + flags
            let log = Pipe()
            server.standardOutput = log
            server.standardError = log
            try server.run()
            let deadline = ContinuousClock.now + .seconds(15)
            while server.isRunning && ContinuousClock.now < deadline {
                // Any answer (401 behind basic auth) means it is up.
                if let status = (try? Self.get("http://127.0.0.1:\(port)/-/ready"))?.status, status > 0 {
                    self.port = port
                    self.server = server
                    return
                }
                usleep(50_000)
            }
            // Another process took the port first (the gateway exits): try another one.
            server.terminate()
            server.waitUntilExit()
            lastLog = String(decoding: log.fileHandleForReading.availableData, as: UTF8.self)
        }
        throw Failure(description: "the Pushgateway did not come up: \(lastLog)")
    }

    deinit {
        server.terminate()
        server.waitUntilExit()
        if let webConfig { try? FileManager.default.removeItem(at: webConfig) }
    }

    /// A GET with URLSession (not the client under test), synchronously.
    static func get(_ url: String) throws -> (status: Int, text: String) {
        let (status, body) = try getBytes(url)
        return (status, String(decoding: body, as: UTF8.self))
    }

    /// A GET with URLSession, synchronously, sending `accept` when given.
    static func getBytes(_ url: String, accept: String? = nil) throws -> (status: Int, body: [UInt8]) {
        final class Box: @unchecked Sendable { var result: Result<(Int, [UInt8]), Error>? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 10
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.result = .failure(error)
            } else {
                box.result = .success(((response as? HTTPURLResponse)?.statusCode ?? 0, Array(data ?? Data())))
            }
            done.signal()
        }.resume()
        done.wait()
        return try box.result!.get()
    }

    /// The gateway's /metrics as protobuf, decoded by Google's protobuf runtime
    /// (Tests/conformance/decode_protobuf.py with classes generated from client_model's
    /// metrics.proto): the families as JSON objects.
    func protobufFamilies() throws -> [[String: Any]] {
        let (status, body) = try Self.getBytes(
            "\(url)/metrics", accept: ExpositionFormat.protobuf.contentType)
        guard status == 200 else { throw Failure(description: "/metrics (protobuf): \(status)") }
        guard let python = TestTools.venvPython else {
            throw Failure(description: ".venv/bin/python not found: run `make deps-python` (or `make test`)")
        }
        let proto = repositoryRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/reference/client_model/metrics.proto").path
        let script = repositoryRoot.appendingPathComponent("Tests/conformance/decode_protobuf.py").path
        let (exit, output) = try TestTools.run(python, [script, proto], input: body)
        guard exit == 0, let families = try JSONSerialization.jsonObject(with: Data(output)) as? [[String: Any]] else {
            throw Failure(description: "decode_protobuf.py: \(String(decoding: output, as: UTF8.self))")
        }
        return families
    }

    /// The gateway's own /metrics: pushed series, `push_time_seconds` and the gateway's metrics.
    func metrics() throws -> String {
        let answer = try Self.get("\(url)/metrics")
        guard answer.status == 200 else { throw Failure(description: "/metrics: \(answer.status) \(answer.text)") }
        return answer.text
    }

    /// The groups `/api/v1/metrics` lists: each with its labels and its metric families.
    func groups() throws -> [Group] {
        let answer = try Self.get("\(url)/api/v1/metrics")
        guard answer.status == 200,
            let object = try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Any],
            let data = object["data"] as? [[String: Any]]
        else { throw Failure(description: "/api/v1/metrics: \(answer.status) \(answer.text)") }
        return data.map { entry in
            var families: [String: Family] = [:]
            for (name, value) in entry {
                guard let family = value as? [String: Any], let metrics = family["metrics"] as? [[String: Any]]
                else { continue }
                families[name] = Family(
                    type: family["type"] as? String ?? "",
                    series: metrics.map { metric in
                        Series(labels: metric["labels"] as? [String: String] ?? [:], value: metric["value"] as? String,
                               count: metric["count"] as? String, sum: metric["sum"] as? String,
                               buckets: metric["buckets"] as? [String: String])
                    })
            }
            return Group(labels: entry["labels"] as? [String: String] ?? [:], families: families)
        }
    }

    /// The group with exactly these labels (job included), if the gateway has it.
    func group(_ labels: [String: String]) throws -> Group? {
        try groups().first { $0.labels == labels }
    }

    struct Group {
        var labels: [String: String]
        var families: [String: Family]
        /// The pushed families (without the gateway's push_time_seconds and push_failure_time_seconds).
        var pushedNames: Set<String> { Set(families.keys.filter { !$0.hasPrefix("push_") }) }
    }

    struct Family {
        var type: String
        var series: [Series]
    }

    struct Series {
        var labels: [String: String]
        var value: String?
        var count: String?
        var sum: String?
        var buckets: [String: String]?
    }
}
