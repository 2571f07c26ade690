import Dispatch
import Logging
import MetricsKit
import MetricsKitHTTP
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Wires the registry, the routes and the server, and runs until SIGTERM or SIGINT.
final class DemoApp: Sendable {
    let settings: Settings
    let logger: Logger
    let registry = MetricRegistry()
    let server: HTTPServer
    private let limiter: ConcurrencyLimiter?
    private let random = FastRandom()

    init(settings: Settings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        self.limiter = settings.maxConcurrency > 0 ? ConcurrencyLimiter(limit: settings.maxConcurrency) : nil

        let metrics = try HTTPMetrics(registry: registry, buckets: settings.buckets)
        try registry.register(ProcessCollector())
        try registry.gauge(
            "metrics_app_build_info", help: "Build information of metrics-app; the value is always 1.",
            constLabels: ["version": MetricsApp.version]
        ).set(1)

        if settings.syntheticSeries > 0 {
            let synthetic = try registry.counter(
                "metrics_app_synthetic_total", help: "Synthetic series for measuring scrape cost (--synthetic-series).",
                labelNames: ["id"], seriesLimit: settings.syntheticSeries)
            for id in 0..<settings.syntheticSeries { synthetic.labels(String(id)).increment(by: id) }
        }

        var configuration = HTTPServer.Configuration()
        configuration.host = settings.host
        configuration.port = settings.port
        configuration.threads = settings.threads
        configuration.connectionLimit = settings.maxConnections
        configuration.connectionsPerClientLimit = settings.maxConnectionsPerIP
        configuration.connectionTimeout = settings.connectionTimeout
        configuration.headerTimeout = settings.headerTimeout
        configuration.bodyTimeout = settings.bodyTimeout
        configuration.maxBodySize = settings.maxBodyBytes
        configuration.metrics = metrics
        let router = Router()
        server = HTTPServer(configuration: configuration, router: router)

        let probes = settings.instrumentProbes
        let ok = HTTPResponse.text("OK\n").prepared()
        let live = HTTPResponse.text("ok\n").prepared()
        let ready = HTTPResponse.text("ready\n").prepared()
        let draining = HTTPResponse.text("draining\n", status: 503).prepared()
        router.add("/health", instrumented: probes) { _ in ok }
        router.add("/healthz", instrumented: probes) { _ in live }
        router.add("/readyz", instrumented: probes) { [server] _ in server.isDraining ? draining : ready }
        router.addMetrics(registry, instrumented: probes)
        router.add("/", methods: [.get]) { [self] _, responder in handleRoot(responder) }
    }

    private static let hello = HTTPResponse.text("Hello from metrics-app!\n").prepared()

    /// `/`: optional CPU work, then (through the FIFO limiter, if any) the simulated delay.
    private func handleRoot(_ responder: any HTTPResponder) {
        if settings.cpuWorkMilliseconds > 0 { CPUWork.burn(milliseconds: settings.cpuWorkMilliseconds) }
        guard let limiter else { return answerAfterDelay(responder, then: nil) }
        limiter.acquire { [self] in answerAfterDelay(responder, then: limiter.release) }
    }

    private func answerAfterDelay(_ responder: any HTTPResponder, then done: (@Sendable () -> Void)?) {
        guard let delay = settings.delay else {
            responder.respond(Self.hello)
            done?()
            return
        }
        let milliseconds = random.next(in: delay)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) {
            responder.respond(Self.hello)
            done?()
        }
    }

    func run() throws {
        try server.start()
        logger.info(
            "listening",
            metadata: [
                "address": "\(settings.host):\(server.port)", "threads": "\(settings.threads)",
                "delay_ms": "\(settings.delay.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "off")",
                "max_concurrency": "\(settings.maxConcurrency)", "version": "\(MetricsApp.version)",
            ])
        let stop = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [logger] in
                logger.info("signal received, draining", metadata: ["signal": "\(signalNumber)"])
                stop.signal()
            }
            source.resume()
            sources.append(source)
        }
        stop.wait()
        let inFlight = server.inFlight
        let drained = server.shutdown(gracePeriod: .seconds(settings.shutdownTimeout))
        logger.info(
            drained ? "drained, exiting" : "shutdown deadline reached; answered the rest with 503",
            metadata: ["in_flight_at_signal": "\(inFlight)"])
        withExtendedLifetime(sources) {}
    }
}

/// Lets `limit` requests run at once; the rest wait in arrival order.
final class ConcurrencyLimiter: Sendable {
    private let state: Mutex<(active: Int, waiting: [@Sendable () -> Void], head: Int)>
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        state = Mutex((0, [], 0))
    }

    /// Runs `start` now if a slot is free, else when one frees up (FIFO).
    func acquire(_ start: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.active < limit {
                state.active += 1
                return true
            }
            state.waiting.append(start)
            return false
        }
        if runNow { start() }
    }

    /// Frees a slot, handing it to the longest-waiting request if any.
    func release() {
        let next = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.head < state.waiting.count else {
                state.active -= 1
                return nil
            }
            let next = state.waiting[state.head]
            state.head += 1
            if state.head > 1024 && state.head * 2 > state.waiting.count {
                state.waiting.removeFirst(state.head)
                state.head = 0
            }
            return next
        }
        next?()
    }
}

/// A lock-free pseudo-random source for delays (splitmix64 over an atomic counter).
final class FastRandom: Sendable {
    private let state = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// A value in `range`, any range of `Int` (no overflow: the span is computed in `UInt64`).
    func next(in range: ClosedRange<Int>) -> Int {
        var z = state.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let span = UInt64(bitPattern: Int64(range.upperBound) &- Int64(range.lowerBound)) &+ 1  // 0: all of Int
        let offset = span == 0 ? z : z % span
        return range.lowerBound &+ Int(truncatingIfNeeded: offset)
    }
}

/// Burns CPU time on the calling thread.
enum CPUWork {
    static func burn(milliseconds: Int) {
        let end = threadCPUTime() + Double(milliseconds) / 1000
        var x: UInt64 = 0x1234_5678
        while threadCPUTime() < end {
            for _ in 0..<10_000 { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
        }
        if x == 42 { print("") }  // keep the loop
    }

    private static func threadCPUTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// swift-log handler writing one JSON object per line to standard error.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("time", String(WallClockText.now())), ("level", event.level.rawValue), ("logger", label),
            ("message", "\(event.message)"),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { fields.append((key, "\(value)")) }
        let line = "{" + fields.map { "\"\(JSONLogHandler.escape($0.0))\":\"\(JSONLogHandler.escape($0.1))\"" }
            .joined(separator: ",") + "}\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

enum WallClockText {
    /// Seconds since the epoch with millisecond precision.
    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = Int(now.tv_nsec) / 1_000_000
        return "\(now.tv_sec).\(String(millis).leftPadded(to: 3))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
