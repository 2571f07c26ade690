import Dispatch
import Logging
import MetricsKit
import MetricsKitHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// Wires the registry, the routes and the server, and runs until SIGTERM or SIGINT (blocked by
/// `StopSignals.block()` before this is made, so one sent at any time after start drains).
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

        let metrics = try HTTPMetrics(
            registry: registry, buckets: settings.buckets, native: settings.nativeHistograms ? NativeHistogramOptions() : nil)
        try registry.register(ProcessCollector())
        try registry.info(
            "metrics_app_build_info", help: "Build information of metrics-app; the value is always 1.",
            labels: ["version": AppVersion.text])

        if settings.syntheticSeries > 0 {
            let synthetic = try registry.counter(
                "metrics_app_synthetic_total", help: "Synthetic series for measuring scrape cost (--synthetic-series).",
                labelNames: ["id"], seriesLimit: settings.syntheticSeries)
            for id in 0..<settings.syntheticSeries { synthetic.labels(String(id)).increment(by: id) }
        }

        var configuration = settings.server
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
        router.addMetrics(registry, instrumented: probes, scrapeMetrics: try ScrapeMetrics(registry: registry))
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
                "address": "\(settings.server.host):\(server.port)", "threads": "\(settings.server.threads)",
                "delay_ms": "\(settings.delay.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "off")",
                "max_concurrency": "\(settings.maxConcurrency)", "version": "\(AppVersion.text)",
            ])
        let signalNumber = StopSignals.wait()
        logger.info("signal received, draining", metadata: ["signal": "\(signalNumber)"])
        let inFlight = server.inFlight
        let drained = server.shutdown(gracePeriod: .seconds(settings.shutdownTimeout))
        logger.info(
            drained ? "drained, exiting" : "shutdown deadline reached; waiting requests answered 503",
            metadata: ["in_flight_at_signal": "\(inFlight)"])
    }
}
