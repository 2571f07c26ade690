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
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "metrics-app",
        abstract: "An instrumented HTTP workload for learning and testing autoscaling on custom HTTP metrics.",
        discussion: """
            Endpoints: / (demo work, GET/HEAD), /health (OK), /healthz (liveness), /readyz (readiness; \
            503 while draining), /metrics (Prometheus text 0.0.4, gzip when asked).
            Every option can also be set through the environment variable named in its help; a flag on \
            the command line wins. SIGTERM or SIGINT drains: readiness fails at once, new connections are \
            refused (the listening socket is closed), in-flight requests finish (up to --shutdown-timeout), \
            then the process exits 0.
            """,
        version: version)

    @Option(help: "Address to listen on. [env: METRICS_APP_HOST] (default: 0.0.0.0)")
    var host: String?

    // Numbers parse unconditionally, so a negative value reaches the range check (which names
    // the flag and its range) instead of being taken for a flag.
    @Option(parsing: .unconditional, help: "Port to listen on, \(Ranges.port.text). [env: METRICS_APP_PORT] (default: 8080)")
    var port: Int?

    @Option(parsing: .unconditional, help: "Server threads, \(Ranges.threads.text). [env: METRICS_APP_THREADS] (default: the CPU count)")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Shortest simulated processing delay of /, in milliseconds, \(Ranges.delay.text). [env: METRICS_APP_DELAY_MIN] (default: 100)")
    var delayMin: Int?

    @Option(parsing: .unconditional, help: "Longest simulated processing delay of /, in milliseconds, \(Ranges.delay.text); 0 disables the delay. [env: METRICS_APP_DELAY_MAX] (default: 499)")
    var delayMax: Int?

    @Option(parsing: .unconditional, help: "Requests to / processed at once, \(Ranges.maxConcurrency.text); more wait in a FIFO queue, so latency grows with load. 0 means no limit. [env: METRICS_APP_MAX_CONCURRENCY] (default: 0)")
    var maxConcurrency: Int?

    @Option(parsing: .unconditional, help: "CPU time each request to / burns, in milliseconds, \(Ranges.cpuWork.text), for CPU-based autoscaling demos. [env: METRICS_APP_CPU_WORK] (default: 0)")
    var cpuWork: Int?

    @Option(help: "Latency histogram bucket bounds in seconds, comma-separated. [env: METRICS_APP_BUCKETS] (default: 0.05,0.1,0.25,0.5,1,2.5,5)")
    var buckets: String?

    @Option(help: "Also count /metrics, /health, /healthz and /readyz in the HTTP metrics (true/false). [env: METRICS_APP_INSTRUMENT_PROBES] (default: false)")
    var instrumentProbes: Bool?

    @Option(parsing: .unconditional, help: "Seconds to let in-flight requests finish after SIGTERM, \(Ranges.shutdownTimeout.text); keep it below the pod's terminationGracePeriodSeconds. [env: METRICS_APP_SHUTDOWN_TIMEOUT] (default: 25)")
    var shutdownTimeout: Int?

    @Option(parsing: .unconditional, help: "Seconds a connection with no bytes moving stays open, \(Ranges.connectionTimeout.text). [env: METRICS_APP_CONNECTION_TIMEOUT] (default: 15)")
    var connectionTimeout: Int?

    @Option(parsing: .unconditional, help: "Seconds a client has to send complete request headers, from connecting or from its previous response, \(Ranges.headerTimeout.text); then the connection is closed, however slowly bytes trickle in. [env: METRICS_APP_HEADER_TIMEOUT] (default: 10)")
    var headerTimeout: Int?

    @Option(parsing: .unconditional, help: "Seconds a client has to send a request body once its headers are in, \(Ranges.bodyTimeout.text). [env: METRICS_APP_BODY_TIMEOUT] (default: 30)")
    var bodyTimeout: Int?

    @Option(parsing: .unconditional, help: "Most connections open at once, \(Ranges.maxConnections.text). [env: METRICS_APP_MAX_CONNECTIONS] (default: 4096)")
    var maxConnections: Int?

    @Option(parsing: .unconditional, help: "Most connections open at once from one client address, \(Ranges.maxConnectionsPerIP.text); 0 means no limit. Behind a proxy all connections come from the proxy. [env: METRICS_APP_MAX_CONNECTIONS_PER_IP] (default: a quarter of --max-connections)")
    var maxConnectionsPerIp: Int?

    @Option(parsing: .unconditional, help: "Largest request body accepted, in bytes, \(Ranges.maxBodyBytes.text); larger ones get 413. [env: METRICS_APP_MAX_BODY_BYTES] (default: 1048576)")
    var maxBodyBytes: Int?

    @Option(parsing: .unconditional, help: "Adds a counter family with this many series, \(Ranges.syntheticSeries.text), to measure scrape cost at scale. [env: METRICS_APP_SYNTHETIC_SERIES] (default: 0)")
    var syntheticSeries: Int?

    @Option(help: "Log format: text or json (one JSON object per line). [env: METRICS_APP_LOG_FORMAT] (default: text)")
    var logFormat: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [env: METRICS_APP_LOG_LEVEL] (default: info)")
    var logLevel: String?

    mutating func run() throws {
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
