import ArgumentParser
import Logging
import MetricsKitHTTP

/// Every setting of metrics-app, each declared once (see ``Setting``). The server's own
/// defaults come from `HTTPServer.Configuration`, so the library and the app agree.
enum Flags {
    private static let server = HTTPServer.Configuration()

    static let host = Setting("host", default: server.host, "Address to listen on (IPv4 or IPv6 literal).")
    static let port = Setting("port", default: server.port, range: 0...65535, "Port to listen on.")
    static let threads = Setting(
        "threads", default: min(server.threads, 1024), shown: "the CPUs this process may use", range: 1...1024,
        "Server threads, one epoll set each. The default counts the CPUs of the cgroup quota and the affinity mask, not the node's.")
    static let delayMin = Setting(
        "delay-min", default: 100, range: 0...3_600_000, "Shortest simulated processing delay of /, in milliseconds.")
    static let delayMax = Setting(
        "delay-max", default: 499, range: 0...3_600_000,
        "Longest simulated processing delay of /, in milliseconds; 0 disables the delay.")
    static let maxConcurrency = Setting(
        "max-concurrency", default: 0, range: 0...1_000_000,
        "Requests to / processed at once; more wait in a FIFO queue, so latency grows with load. 0 means no limit.")
    static let cpuWork = Setting(
        "cpu-work", default: 0, range: 0...60_000,
        "CPU time each request to / burns, in milliseconds, for CPU-based autoscaling demos.")
    static let buckets = Setting(
        "buckets", default: HTTPMetrics.defaultBuckets,
        shown: HTTPMetrics.defaultBuckets.map { $0 == $0.rounded() ? "\(Int($0))" : "\($0)" }.joined(separator: ","),
        "Latency histogram bucket bounds in seconds, comma-separated.")
    static let instrumentProbes = Setting(
        "instrument-probes", default: false,
        "Also count /metrics, /health, /healthz and /readyz in the HTTP metrics (true/false).")
    static let nativeHistograms = Setting(
        "native-histograms", default: true,
        "Give http_request_duration_seconds native histogram buckets besides the classic ones (true/false); a Prometheus scraping protobuf with native histograms enabled stores them.")
    static let shutdownTimeout = Setting(
        "shutdown-timeout", default: Int(HTTPServer.defaultGracePeriod.components.seconds), range: 0...3600,
        "Seconds to let in-flight requests finish after SIGTERM; keep it below the pod's terminationGracePeriodSeconds.")
    static let connectionTimeout = Setting(
        "connection-timeout", default: server.connectionTimeout, range: 1...86400,
        "Seconds a connection with no bytes moving stays open.")
    static let headerTimeout = Setting(
        "header-timeout", default: server.headerTimeout, range: 1...3600,
        "Seconds a client has to send complete request headers, from connecting or from its previous response; then the connection is closed, however slowly bytes trickle in.")
    static let bodyTimeout = Setting(
        "body-timeout", default: server.bodyTimeout, range: 1...86400,
        "Seconds a client has to send a request body once its headers are in.")
    static let maxConnections = Setting(
        "max-connections", default: server.maxConnections, range: 1...1_048_576, "Most connections open at once.")
    static let maxConnectionsPerIP = Setting(
        "max-connections-per-ip", default: server.maxConnectionsPerIP, shown: "a quarter of --max-connections",
        range: 0...1_048_576,
        "Most connections open at once from one client address; 0 means no limit. Behind a proxy all connections come from the proxy.")
    static let maxBodyBytes = Setting(
        "max-body-bytes", default: server.maxBodyBytes, range: 0...(1 << 30),
        "Largest request body accepted, in bytes; larger ones get 413.")
    static let syntheticSeries = Setting(
        "synthetic-series", default: 0, range: 0...1_000_000,
        "Adds a counter family with this many series, to measure scrape cost at scale.")
    static let logFormat = Setting("log-format", default: "text", "Log format: text or json (one JSON object per line).")
    static let logLevel = Setting(
        "log-level", default: "info", "Log level: trace, debug, info, notice, warning, error, critical.")
}

/// The resolved configuration: command-line flag, else environment variable, else default.
struct Settings {
    /// What the server uses: address, threads, limits and deadlines.
    var server = HTTPServer.Configuration()
    var delay: ClosedRange<Int>?  // milliseconds; nil: no delay
    var maxConcurrency: Int
    var cpuWorkMilliseconds: Int
    var buckets: [Double]
    var instrumentProbes: Bool
    var nativeHistograms: Bool
    var shutdownTimeout: Int
    var syntheticSeries: Int
    var jsonLogs: Bool
    var logLevel: Logger.Level

    init(_ flags: MetricsApp) throws {
        server.host = Flags.host.resolve(flags.host)
        server.port = try Flags.port.resolve(flags.port)
        server.threads = try Flags.threads.resolve(flags.threads)
        server.connectionTimeout = try Flags.connectionTimeout.resolve(flags.connectionTimeout)
        server.headerTimeout = try Flags.headerTimeout.resolve(flags.headerTimeout)
        server.bodyTimeout = try Flags.bodyTimeout.resolve(flags.bodyTimeout)
        server.maxConnections = try Flags.maxConnections.resolve(flags.maxConnections)
        server.maxConnectionsPerIP = try Flags.maxConnectionsPerIP.resolve(
            flags.maxConnectionsPerIP,
            default: HTTPServer.Configuration.defaultMaxConnectionsPerIP(maxConnections: server.maxConnections))
        server.maxBodyBytes = try Flags.maxBodyBytes.resolve(flags.maxBodyBytes)

        let delayMin = try Flags.delayMin.resolve(flags.delayMin)
        let delayMax = try Flags.delayMax.resolve(flags.delayMax)
        if delayMax == 0 {
            delay = nil
        } else {
            guard delayMin <= delayMax else {
                throw ValidationError("\(Flags.delayMin.flag) (\(delayMin)) is above \(Flags.delayMax.flag) (\(delayMax))")
            }
            delay = delayMin...delayMax
        }
        maxConcurrency = try Flags.maxConcurrency.resolve(flags.maxConcurrency)
        cpuWorkMilliseconds = try Flags.cpuWork.resolve(flags.cpuWork)
        buckets = Flags.buckets.defaultValue
        if let text = flags.buckets ?? Flags.buckets.environmentValue {
            let parsed = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingSpaces) }
            guard parsed.allSatisfy({ $0?.isFinite == true }) else {
                throw ValidationError(
                    "\(Flags.buckets.flag): \"\(text)\" is not a comma-separated list of finite numbers")
            }
            buckets = parsed.map { $0! }
        }
        instrumentProbes = try Flags.instrumentProbes.resolve(flags.instrumentProbes)
        nativeHistograms = try Flags.nativeHistograms.resolve(flags.nativeHistograms)
        shutdownTimeout = try Flags.shutdownTimeout.resolve(flags.shutdownTimeout)
        syntheticSeries = try Flags.syntheticSeries.resolve(flags.syntheticSeries)

        let format = Flags.logFormat.resolve(flags.logFormat).lowercased()
        guard format == "text" || format == "json" else {
            throw ValidationError("\(Flags.logFormat.flag): \"\(format)\" is neither text nor json")
        }
        jsonLogs = format == "json"
        let level = Flags.logLevel.resolve(flags.logLevel).lowercased()
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ValidationError("\(Flags.logLevel.flag): \"\(level)\" is not a log level")
        }
        logLevel = parsedLevel
    }
}
