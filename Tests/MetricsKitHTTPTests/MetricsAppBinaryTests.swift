import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The built metrics-app, run as a subprocess on an ephemeral port.
final class AppProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// Everything the process printed so far, read by a thread of its own as it comes: the pipe
    /// never fills (a process blocked writing a full pipe would hang its test), and reading the
    /// log never waits for a process that is still running and says nothing.
    private let printed = PrintedOutput()

    /// Starts metrics-app with `arguments` on `--port 0` and learns the port from its
    /// "listening" line (the kernel's choice, so tests running in parallel never share one);
    /// `launcher` (such as `taskset -c 0`) runs it when given. Unless `waitUntilHealthy` is
    /// false, it returns once /healthz answers 200.
    init(
        _ arguments: [String], environment: [String: String] = [:], launcher: [String] = [],
        waitUntilHealthy: Bool = true
    ) throws {
        let command = launcher + [Tools.metricsApp, "--host", "127.0.0.1", "--port", "0"] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        printed.read(output.fileHandleForReading)
        let deadline = ContinuousClock.now + .seconds(10)
        var found: Int?
        while found == nil && process.isRunning && ContinuousClock.now < deadline {
            usleep(200)  // soon after the line: the SIGTERM-right-after-start test needs it
            found = Self.listeningPort(in: printed.text)
        }
        guard let found = found ?? Self.listeningPort(in: printed.text) else {
            process.terminate()
            throw RawHTTPClient.Failure(description: "metrics-app printed no listening address: \(printed.text)")
        }
        port = found
        if !waitUntilHealthy { return }
        while ContinuousClock.now < deadline {
            if (try? RawHTTPClient.get("/healthz", port: port))?.status == 200 { return }
            usleep(20_000)
        }
        process.terminate()
        throw RawHTTPClient.Failure(description: "metrics-app did not come up on port \(port)")
    }

    /// The port of the "listening" log line (`address=127.0.0.1:PORT` or, in JSON,
    /// `"address":"127.0.0.1:PORT"`), once the whole line is there.
    static func listeningPort(in text: String) -> Int? {
        guard let line = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .first(where: { $0.contains("listening") }),
            let range = line.range(of: "127.0.0.1:")
        else { return nil }
        return Int(line[range.upperBound...].prefix(while: \.isNumber))
    }

    deinit { if process.isRunning { process.terminate() } }

    var pid: Int32 { process.processIdentifier }

    func signal(_ number: Int32) { kill(pid, number) }

    func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// What the process printed so far (stdout and stderr). Never waits for a running process;
    /// once it has exited, waits (up to 2 s) for the reader to take its last lines.
    var log: String {
        if !process.isRunning { printed.waitForEnd(timeout: .seconds(2)) }
        return printed.text
    }

    /// Resident set size in bytes, from /proc.
    var residentBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return -1 }
        return (Int(line.split(separator: " ")[1]) ?? 0) * 1024
    }

    /// A loopback port nothing listens on now, never handed out twice in this test run (for
    /// servers that cannot report the port they bound, such as Prometheus).
    static func freePort() throws -> Int {
        do { return try LoopbackPort.free() } catch { throw RawHTTPClient.Failure(description: "\(error)") }
    }
}

/// A process's output, read by a thread of its own as it comes.
final class PrintedOutput: Sendable {
    private let state = Mutex<(bytes: [UInt8], ended: Bool)>(([], false))

    /// Reads `handle` on a new thread until every writer has closed it (the process exited).
    func read(_ handle: FileHandle) {
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = Glibc.read(handle.fileDescriptor, &buffer, buffer.count)
                if count <= 0 { break }
                state.withLock { $0.bytes += buffer[0..<count] }
            }
            try? handle.close()
            state.withLock { $0.ended = true }
        }.start()
    }

    /// What was read so far.
    var text: String { String(decoding: state.withLock { $0.bytes }, as: UTF8.self) }

    /// Waits until the output ended, for at most `timeout`.
    func waitForEnd(timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        while !state.withLock({ $0.ended }) && ContinuousClock.now < deadline { usleep(2_000) }
    }
}

@Suite("metrics-app binary")
struct MetricsAppBinaryTests {
    @Test func servesEndpointsAndExactCounts() throws {
        let app = try AppProcess(["--delay-max", "0", "--threads", "2"])
        onThreads(4) { _ in
            let client = try? RawHTTPClient(port: app.port)
            for _ in 0..<25 { _ = try? client?.request("GET", "/") }
        }
        #expect(try RawHTTPClient.get("/health", port: app.port).text == "OK\n")
        #expect(try RawHTTPClient.get("/readyz", port: app.port).status == 200)
        // Requests are recorded once their response is sent, which can be just after the client
        // read it: wait until none is in flight.
        var text = ""
        try waitFor("every request recorded") {
            text = (try? RawHTTPClient.get("/metrics", port: app.port).text) ?? ""
            return samples(text)["http_requests_in_flight"] == 0
        }
        let values = samples(text)
        #expect(values["http_requests_total{method=\"GET\",path=\"/\",status=\"200\"}"] == 100)
        #expect(values["metrics_app_build_info{version=\"\(try versionFile())\"}"] == 1, "\(text)")
        // An info metric: OpenMetrics types it `info` (text 0.0.4 has no such type: gauge).
        #expect(text.contains("# TYPE metrics_app_build_info gauge\n"))
        let openMetrics = try RawHTTPClient.get(
            "/metrics", port: app.port, headers: ["Accept": "application/openmetrics-text; version=1.0.0"]).text
        #expect(openMetrics.contains("# TYPE metrics_app_build info\n"), "\(openMetrics)")
        #expect(openMetrics.contains("\nmetrics_app_build_info{version=\"\(try versionFile())\"} 1\n"))
        #expect(values["process_resident_memory_bytes"] ?? 0 > 0)
        #expect(!text.contains("path=\"/health\"") && !text.contains("path=\"/readyz\""))
        guard let promtool = Tools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)")
            return
        }
        let (status, output) = try Tools.run(promtool, ["check", "metrics"], input: Array(text.utf8))
        #expect(status == 0 && output.isEmpty, "\(String(decoding: output, as: UTF8.self))")
    }

    @Test func sigtermDrainsInFlightRequestsAndExitsZero() throws {
        // Delays well past the refusal deadline below: the server is still draining then.
        let app = try AppProcess(["--delay-min", "5000", "--delay-max", "5500"])
        // A connection opened before the signal, to ask /readyz while draining.
        let probe = try RawHTTPClient(port: app.port)
        #expect(try probe.request("GET", "/readyz").status == 200)
        let statuses = Mutex<[Int]>([])
        let group = DispatchGroup()
        for _ in 0..<20 {
            group.enter()
            Thread.detachNewThread {
                let status = (try? RawHTTPClient.get("/", port: app.port))?.status ?? -1
                statuses.withLock { $0.append(status) }
                group.leave()
            }
        }
        try waitFor("all 20 waiting out their delay") {
            samples((try? probe.request("GET", "/metrics").text) ?? "")["http_requests_in_flight"] == 20
        }
        app.signal(SIGTERM)
        var readiness = try probe.request("GET", "/readyz")
        try waitFor("readiness to fail after SIGTERM") {
            if readiness.status == 200 { readiness = (try? probe.request("GET", "/readyz")) ?? readiness }
            return readiness.status != 200
        }
        #expect(readiness.status == 503)
        #expect(readiness.headers["connection"]?.lowercased() == "close")
        // No new connections: refused at once, not accepted into a backlog nobody serves.
        try waitFor("a refused connection after SIGTERM", within: .seconds(2)) {
            RawHTTPClient.connectOutcome(port: app.port) == ECONNREFUSED
        }
        group.wait()
        #expect(statuses.withLock { $0 } == Array(repeating: 200, count: 20))
        #expect(app.waitForExit(timeout: .seconds(10)) == 0)
    }

    /// A handler still busy when the shutdown deadline passes (CPU work, then a delay that
    /// would suspend its connection) no longer makes libmicrohttpd abort the process
    /// ("MHD_stop_daemon() called while we have suspended connections"): the request is
    /// answered 503 or its connection closed, and the process exits 0.
    @Test func busyHandlerPastTheShutdownDeadlineExitsZero() throws {
        let app = try AppProcess([
            "--cpu-work", "2500", "--delay-min", "5000", "--delay-max", "5000", "--shutdown-timeout", "1",
            "--threads", "2",
        ])
        let status = Mutex<Int?>(nil)
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            let answer = (try? RawHTTPClient.get("/", port: app.port))?.status ?? -1
            status.withLock { $0 = answer }
            group.leave()
        }
        try waitFor("the request in its CPU work") {
            samples((try? RawHTTPClient.get("/metrics", port: app.port).text) ?? "")["http_requests_in_flight"] == 1
        }
        app.signal(SIGTERM)
        let code = app.waitForExit(timeout: .seconds(20))
        if code == nil { app.process.terminate() }  // so reading its log below cannot block
        #expect(code == 0, "exit \(code.map(String.init) ?? "none"): \(app.log)")
        group.wait()
        #expect([503, -1].contains(status.withLock { $0 }), "\(String(describing: status.withLock { $0 }))")
    }

    @Test func hostileLoadLeavesServiceUpAndMemoryBounded() throws {
        let app = try AppProcess(["--delay-max", "0", "--connection-timeout", "3", "--header-timeout", "3600"])
        let before = app.residentBytes
        // Garbage, over-long headers and oversized bodies, many times over.
        for i in 0..<200 {
            let client = try RawHTTPClient(port: app.port)
            switch i % 3 {
            case 0: client.send([UInt8](repeating: UInt8(i & 0xFF), count: 4096))
            case 1: client.send("GET / HTTP/1.1\r\nX-Long: " + String(repeating: "z", count: 100_000) + "\r\n\r\n")
            default: client.send("POST / HTTP/1.1\r\nContent-Length: 10485760\r\n\r\n" + String(repeating: "b", count: 65536))
            }
        }
        // Slow connections trickling bytes while a normal client asks for /health.
        var slow: [RawHTTPClient] = []
        for _ in 0..<500 {
            if let client = try? RawHTTPClient(port: app.port) {
                client.send("GET /health HTTP/1.1\r\n")
                slow.append(client)
            }
        }
        // The header deadline is an hour: a probe the tricklers blocked would time out.
        for round in 0..<10 {
            for client in slow { client.send("X-\(round): y\r\n") }
            #expect(try RawHTTPClient.get("/health", port: app.port, timeoutSeconds: 5).status == 200)
        }
        let during = app.residentBytes
        #expect(during - before < 64 << 20, "RSS grew from \(before) to \(during) bytes")
        #expect(app.process.isRunning)
        slow.removeAll()
        #expect(try RawHTTPClient.get("/", port: app.port).status == 200)
    }

    @Test func maxConcurrencyQueuesRequestsInArrivalOrder() throws {
        let app = try AppProcess(["--max-concurrency", "1", "--delay-min", "200", "--delay-max", "200"])
        let connected = Atomic<Int>(0)
        let released = Mutex<ContinuousClock.Instant?>(nil)
        let completions = Mutex<[ContinuousClock.Instant]>([])
        onThreads(4) { _ in
            guard let client = try? RawHTTPClient(port: app.port) else { return }
            // All four connected first, then sent together: none can start late and skip the queue.
            connected.wrappingAdd(1, ordering: .relaxed)
            while connected.load(ordering: .relaxed) < 4 { usleep(100) }
            released.withLock { $0 = $0 ?? ContinuousClock.now }
            if (try? client.request("GET", "/"))?.status == 200 {
                let now = ContinuousClock.now
                completions.withLock { $0.append(now) }
            }
        }
        let done = completions.withLock { $0 }.sorted()
        #expect(done.count == 4)
        // One at a time, 200 ms each: every answer comes at least ~200 ms after the one before
        // (a loaded machine spreads them further, never closer).
        var previous = try #require(released.withLock { $0 })
        for instant in done {
            #expect(instant - previous >= .milliseconds(190), "\(done.map { $0 - done[0] })")
            previous = instant
        }
        // The server's own latency includes the wait: at most one (two, if a thread sent late)
        // answered within 0.25 s; without the queue all four would be.
        let values = samples(try RawHTTPClient.get("/metrics", port: app.port).text)
        #expect(values["http_request_duration_seconds_bucket{method=\"GET\",path=\"/\",le=\"0.25\"}"] ?? 9 <= 2)
    }

    @Test func cpuWorkBurnsCPUPerRequest() throws {
        let app = try AppProcess(["--delay-max", "0", "--cpu-work", "50"])
        let before = samples(try RawHTTPClient.get("/metrics", port: app.port).text)["process_cpu_seconds_total"] ?? 0
        for _ in 0..<6 { _ = try RawHTTPClient.get("/", port: app.port) }
        let after = samples(try RawHTTPClient.get("/metrics", port: app.port).text)["process_cpu_seconds_total"] ?? 0
        #expect(after - before >= 0.25, "CPU seconds went from \(before) to \(after)")
    }

    @Test func environmentVariablesConfigureAndFlagsWin() throws {
        let app = try AppProcess(
            ["--delay-max", "0"],
            environment: ["METRICS_APP_BUCKETS": "0.1,1", "METRICS_APP_DELAY_MAX": "not a number", "METRICS_APP_LOG_FORMAT": "json"])
        _ = try RawHTTPClient.get("/", port: app.port)
        let text = try RawHTTPClient.get("/metrics", port: app.port).text
        #expect(text.contains("http_request_duration_seconds_bucket{method=\"GET\",path=\"/\",le=\"0.1\"} 1"))
        #expect(!text.contains("le=\"0.05\""))
        app.signal(SIGTERM)
        #expect(app.waitForExit(timeout: .seconds(10)) == 0)
        let lines = app.log.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("{\"time\":") && $0.hasSuffix("}") }, "\(lines)")
    }

    /// The default thread count follows the affinity mask, not the node's CPUs (the cgroup
    /// quota is covered with fake cgroup files in AvailableCPUsTests).
    @Test func defaultThreadsFollowTheAffinityMask() throws {
        guard let taskset = Tools.find("taskset") else {
            Issue.record("taskset not found: install Debian's util-linux package (apt-get install -y util-linux)")
            return
        }
        let app = try AppProcess(["--delay-max", "0", "--log-format", "json"], launcher: [taskset, "-c", "0"])
        app.signal(SIGTERM)
        #expect(app.waitForExit(timeout: .seconds(10)) == 0)
        let log = app.log
        #expect(log.contains("\"threads\":\"1\""), "\(log)")
    }

    /// A SIGTERM sent the moment the "listening" line is out (a kubelet's, right after the
    /// first probe) drains and exits 0: it is neither ignored nor fatal. Before the signals were
    /// blocked ahead of the server's start, one sent in that window was lost and the process ran on.
    @Test func sigtermRightAfterStartDrainsAndExitsZero() throws {
        for _ in 0..<10 {
            let app = try AppProcess(["--delay-max", "0", "--threads", "1"], waitUntilHealthy: false)
            app.signal(SIGTERM)
            #expect(app.waitForExit(timeout: .seconds(10)) == 0, "\(app.log)")
            #expect(app.log.contains("drained, exiting"), "\(app.log)")
        }
    }

    @Test func secondProcessOnTheSamePortFailsWithAddressInUse() throws {
        let app = try AppProcess(["--delay-max", "0"])
        let (status, output) = try runMetricsApp(["--host", "127.0.0.1", "--port", "\(app.port)"])
        #expect(status != nil && status != 0, "a second metrics-app is serving port \(app.port)")
        #expect(output.contains("address in use"), "\(output)")
        #expect(try RawHTTPClient.get("/health", port: app.port).status == 200)
    }

    /// Each value would be cut to 32 bits, overflow, or be read as something else; each gets
    /// an error naming the flag and its range, before anything listens.
    @Test(arguments: [
        (["--max-connections", "4294967296"], "--max-connections: 4294967296 is out of range; allowed: 1 to 1048576"),
        (["--connection-timeout", "4294967296"], "--connection-timeout: 4294967296 is out of range; allowed: 1 to 86400"),
        (["--threads", "4294967298"], "--threads: 4294967298 is out of range; allowed: 1 to 1024"),
        (["--threads", "100000"], "--threads: 100000 is out of range; allowed: 1 to 1024"),
        (["--port", "-1"], "--port: -1 is out of range; allowed: 0 to 65535"),
        (["--shutdown-timeout", "-5"], "--shutdown-timeout: -5 is out of range; allowed: 0 to 3600"),
        (["--delay-max", "9223372036854775807"], "--delay-max: 9223372036854775807 is out of range; allowed: 0 to 3600000"),
        (["--max-connections-per-ip", "-1"], "--max-connections-per-ip: -1 is out of range; allowed: 0 to 1048576"),
        (["--buckets", "1,,2"], "--buckets: \"1,,2\" is not a comma-separated list of finite numbers"),
    ])
    func numericFlagsAreRangeChecked(arguments: [String], message: String) throws {
        let port = try AppProcess.freePort()
        let (status, output) = try runMetricsApp(["--host", "127.0.0.1", "--port", "\(port)"] + arguments)
        #expect(status != nil && status != 0, "\(arguments) was accepted")
        #expect(output.contains(message), "\(output)")
    }

    /// The default per-address limit (a quarter of --max-connections): 60 trickling sockets
    /// from one address cannot fill the 50 connections, and probes from another address pass.
    @Test func defaultPerAddressLimitKeepsProbesAnswered() throws {
        // A long idle timeout: only the per-address limit can keep the probes' slots free.
        let app = try AppProcess(["--delay-max", "0", "--max-connections", "50", "--connection-timeout", "60"])
        let slow = openUnfinishedRequests(60, port: app.port, from: "127.0.0.2")
        let answered = healthProbes(6, port: app.port) {
            for client in slow { client.send("X") }  // trickling: never idle
            usleep(300_000)
        }
        #expect(answered == 6)
    }

    @Test func rejectsBadConfigurationWithAClearMessage() throws {
        let (status, text) = try runMetricsApp(["--delay-min", "500", "--delay-max", "100"])
        #expect(status != nil && status != 0, "the bad configuration was accepted")
        #expect(text.contains("--delay-min (500) is above --delay-max (100)"), "\(text)")
    }
}

/// The version, written once in ./VERSION.
func versionFile() throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("VERSION"), encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Runs metrics-app with `arguments`, expecting it to exit: its status (nil if it was still
/// running after `timeout` and had to be stopped) and its output.
func runMetricsApp(_ arguments: [String], timeout: Duration = .seconds(10)) throws -> (Int32?, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Tools.metricsApp)
    process.arguments = arguments
    let output = Pipe()
    process.standardError = output
    process.standardOutput = output
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
    let exited = !process.isRunning
    if !exited {
        process.terminate()
        process.waitUntilExit()
    }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (exited ? process.terminationStatus : nil, text)
}

extension MetricsAppBinaryTests {
    /// `--version` prints ./VERSION: the generated Sources/metrics-app/Version.swift agrees
    /// with it (`make version-set` writes both).
    @Test func versionIsTheVersionFile() throws {
        let (status, output) = try runMetricsApp(["--version"])
        #expect(status == 0)
        #expect(output == (try versionFile()) + "\n", "metrics-app --version printed \(output)")
    }

    /// The README's flag table is documentation of the flags' declarations (`Flags` in
    /// Sources/metrics-app/Settings.swift): every row must name a flag whose help shows the same
    /// range, environment variable and default, and every flag must have a row.
    @Test func readmeFlagTableMatchesTheHelp() throws {
        let (status, output) = try runMetricsApp(["--experimental-dump-help"])
        #expect(status == 0, "\(output)")
        let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let arguments = ((json?["command"] as? [String: Any])?["arguments"] as? [[String: Any]]) ?? []
        var helps: [String: String] = [:]
        for argument in arguments {
            let names = (argument["names"] as? [[String: Any]]) ?? []
            guard let long = names.first(where: { $0["kind"] as? String == "long" })?["name"] as? String,
                long != "help", long != "version"
            else { continue }
            helps["--" + long] = argument["abstract"] as? String ?? ""
        }
        #expect(helps.count > 10, "\(output)")
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var documented: Set<String> = []
        for line in readme.split(separator: "\n") where line.hasPrefix("| `--") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "")
            }
            guard cells.count > 4, !cells[2].isEmpty else { continue }  // --help, --version
            let flag = cells[1]
            documented.insert(flag)
            guard let help = helps[flag] else {
                Issue.record("README documents \(flag), which metrics-app does not have")
                continue
            }
            let range = cells[4].isEmpty ? "" : " Allowed: \(cells[4])."
            let expected = "\(range) [env: \(cells[2])] (default: \(cells[3]))"
            #expect(help.hasSuffix(expected), "README says \(expected) for \(flag); its help: \(help)")
            if range.isEmpty {
                #expect(!help.contains("Allowed:"), "README gives \(flag) no range; its help: \(help)")
            }
        }
        #expect(Set(helps.keys).subtracting(documented).isEmpty, "flags missing from README's table")
    }
}
