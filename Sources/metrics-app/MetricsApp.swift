import ArgumentParser
import Dispatch
import Logging
import MetricsKit
import MetricsKitHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// The demo workload for custom-metric autoscaling: `/` answers after a simulated delay,
/// `/metrics` exposes `http_requests_total`, `http_request_duration_seconds` and
/// `http_requests_in_flight`. Every option also reads an environment variable.
@main
struct MetricsApp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics-app",
        abstract: "An instrumented HTTP workload for learning and testing autoscaling on custom HTTP metrics.",
        discussion: """
            Endpoints: / (demo work, GET/HEAD), /health (OK), /healthz (liveness), /readyz (readiness; \
            503 while draining), /metrics (what the Accept header asks for: protobuf with native \
            histograms when asked for it, OpenMetrics 1.0 when preferred, else Prometheus text 0.0.4; \
            gzip when Accept-Encoding allows it).
            Every option can also be set through the environment variable named in its help; a flag on \
            the command line wins. SIGTERM or SIGINT drains: readiness fails at once, new connections are \
            refused (the listening socket is closed), in-flight requests finish (up to --shutdown-timeout), \
            then the process exits 0.
            """,
        version: AppVersion.text)

    // Each option's name, help and default come from its declaration in `Flags`. Numbers parse
    // unconditionally, so a negative value reaches the range check (which names the flag and
    // its range) instead of being taken for a flag.
    @Option(name: Flags.host.argumentName, help: Flags.host.help)
    var host: String?

    @Option(name: Flags.port.argumentName, parsing: .unconditional, help: Flags.port.help)
    var port: Int?

    @Option(name: Flags.threads.argumentName, parsing: .unconditional, help: Flags.threads.help)
    var threads: Int?

    @Option(name: Flags.delayMin.argumentName, parsing: .unconditional, help: Flags.delayMin.help)
    var delayMin: Int?

    @Option(name: Flags.delayMax.argumentName, parsing: .unconditional, help: Flags.delayMax.help)
    var delayMax: Int?

    @Option(name: Flags.maxConcurrency.argumentName, parsing: .unconditional, help: Flags.maxConcurrency.help)
    var maxConcurrency: Int?

    @Option(name: Flags.cpuWork.argumentName, parsing: .unconditional, help: Flags.cpuWork.help)
    var cpuWork: Int?

    @Option(name: Flags.buckets.argumentName, help: Flags.buckets.help)
    var buckets: String?

    @Option(name: Flags.nativeHistograms.argumentName, help: Flags.nativeHistograms.help)
    var nativeHistograms: Bool?

    @Option(name: Flags.instrumentProbes.argumentName, help: Flags.instrumentProbes.help)
    var instrumentProbes: Bool?

    @Option(name: Flags.shutdownTimeout.argumentName, parsing: .unconditional, help: Flags.shutdownTimeout.help)
    var shutdownTimeout: Int?

    @Option(name: Flags.connectionTimeout.argumentName, parsing: .unconditional, help: Flags.connectionTimeout.help)
    var connectionTimeout: Int?

    @Option(name: Flags.headerTimeout.argumentName, parsing: .unconditional, help: Flags.headerTimeout.help)
    var headerTimeout: Int?

    @Option(name: Flags.bodyTimeout.argumentName, parsing: .unconditional, help: Flags.bodyTimeout.help)
    var bodyTimeout: Int?

    @Option(name: Flags.maxConnections.argumentName, parsing: .unconditional, help: Flags.maxConnections.help)
    var maxConnections: Int?

    @Option(name: Flags.maxConnectionsPerIP.argumentName, parsing: .unconditional, help: Flags.maxConnectionsPerIP.help)
    var maxConnectionsPerIP: Int?

    @Option(name: Flags.maxBodyBytes.argumentName, parsing: .unconditional, help: Flags.maxBodyBytes.help)
    var maxBodyBytes: Int?

    @Option(name: Flags.syntheticSeries.argumentName, parsing: .unconditional, help: Flags.syntheticSeries.help)
    var syntheticSeries: Int?

    @Option(name: Flags.logFormat.argumentName, help: Flags.logFormat.help)
    var logFormat: String?

    @Option(name: Flags.logLevel.argumentName, help: Flags.logLevel.help)
    var logLevel: String?

    mutating func run() throws {
        StopSignals.block()
        let settings = try Settings(self)
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                settings.jsonLogs ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        let logger = Logger(label: "metrics-app")
        let app = try DemoApp(settings: settings, logger: logger)
        try app.run()
    }
}
