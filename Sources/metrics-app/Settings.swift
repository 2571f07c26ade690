import ArgumentParser
import Logging
import MetricsKitHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// The allowed range of each numeric setting, in help texts and errors alike.
enum Ranges {
    static let port = 0...65535
    static let threads = 1...1024
    static let delay = 0...3_600_000
    static let maxConcurrency = 0...1_000_000
    static let cpuWork = 0...60_000
    static let shutdownTimeout = 0...3600
    static let connectionTimeout = 1...86400
    static let headerTimeout = 1...3600
    static let bodyTimeout = 1...86400
    static let maxConnections = 1...1_048_576
    static let maxConnectionsPerIP = 0...1_048_576
    static let maxBodyBytes = 0...(1 << 30)
    static let syntheticSeries = 0...1_000_000
}

extension ClosedRange<Int> {
    /// `0 to 65535`.
    var text: String { "\(lowerBound) to \(upperBound)" }
}

/// The resolved configuration: command-line flag, else environment variable, else default.
struct Settings {
    var host = "0.0.0.0"
    var port = 8080
    var threads = min(HTTPServer.cpuCount, Ranges.threads.upperBound)
    var delay: ClosedRange<Int>? = 100...499  // milliseconds; nil: no delay
    var maxConcurrency = 0
    var cpuWorkMilliseconds = 0
    var buckets = HTTPMetrics.defaultBuckets
    var instrumentProbes = false
    var shutdownTimeout = 25
    var connectionTimeout = 15
    var headerTimeout = 10
    var bodyTimeout = 30
    var maxConnections = 4096
    var maxConnectionsPerIP = 1024
    var maxBodyBytes = 1 << 20
    var syntheticSeries = 0
    var jsonLogs = false
    var logLevel = Logger.Level.info

    init(_ flags: MetricsApp) throws {
        host = flags.host ?? Self.env("HOST") ?? host
        port = try Self.number("--port", flags.port, env: "PORT", default: port, in: Ranges.port)
        threads = try Self.number("--threads", flags.threads, env: "THREADS", default: threads, in: Ranges.threads)
        let delayMin = try Self.number("--delay-min", flags.delayMin, env: "DELAY_MIN", default: 100, in: Ranges.delay)
        let delayMax = try Self.number("--delay-max", flags.delayMax, env: "DELAY_MAX", default: 499, in: Ranges.delay)
        maxConcurrency = try Self.number(
            "--max-concurrency", flags.maxConcurrency, env: "MAX_CONCURRENCY", default: maxConcurrency,
            in: Ranges.maxConcurrency)
        cpuWorkMilliseconds = try Self.number(
            "--cpu-work", flags.cpuWork, env: "CPU_WORK", default: cpuWorkMilliseconds, in: Ranges.cpuWork)
        if let text = flags.buckets ?? Self.env("BUCKETS") {
            let parsed = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingSpaces) }
            guard parsed.allSatisfy({ $0?.isFinite == true }) else {
                throw ValidationError("--buckets: \"\(text)\" is not a comma-separated list of finite numbers")
            }
            buckets = parsed.map { $0! }
        }
        if let text = flags.instrumentProbes.map(String.init) ?? Self.env("INSTRUMENT_PROBES") {
            guard let value = Bool(text.lowercased()) else {
                throw ValidationError("METRICS_APP_INSTRUMENT_PROBES: \"\(text)\" is not true or false")
            }
            instrumentProbes = value
        }
        shutdownTimeout = try Self.number(
            "--shutdown-timeout", flags.shutdownTimeout, env: "SHUTDOWN_TIMEOUT", default: shutdownTimeout,
            in: Ranges.shutdownTimeout)
        connectionTimeout = try Self.number(
            "--connection-timeout", flags.connectionTimeout, env: "CONNECTION_TIMEOUT", default: connectionTimeout,
            in: Ranges.connectionTimeout)
        headerTimeout = try Self.number(
            "--header-timeout", flags.headerTimeout, env: "HEADER_TIMEOUT", default: headerTimeout,
            in: Ranges.headerTimeout)
        bodyTimeout = try Self.number(
            "--body-timeout", flags.bodyTimeout, env: "BODY_TIMEOUT", default: bodyTimeout, in: Ranges.bodyTimeout)
        maxConnections = try Self.number(
            "--max-connections", flags.maxConnections, env: "MAX_CONNECTIONS", default: maxConnections,
            in: Ranges.maxConnections)
        maxConnectionsPerIP = try Self.number(
            "--max-connections-per-ip", flags.maxConnectionsPerIp, env: "MAX_CONNECTIONS_PER_IP",
            default: max(1, maxConnections / 4), in: Ranges.maxConnectionsPerIP)
        maxBodyBytes = try Self.number(
            "--max-body-bytes", flags.maxBodyBytes, env: "MAX_BODY_BYTES", default: maxBodyBytes, in: Ranges.maxBodyBytes)
        syntheticSeries = try Self.number(
            "--synthetic-series", flags.syntheticSeries, env: "SYNTHETIC_SERIES", default: syntheticSeries,
            in: Ranges.syntheticSeries)
        let format = (flags.logFormat ?? Self.env("LOG_FORMAT") ?? "text").lowercased()
        guard format == "text" || format == "json" else {
            throw ValidationError("--log-format: \"\(format)\" is neither text nor json")
        }
        jsonLogs = format == "json"
        let level = (flags.logLevel ?? Self.env("LOG_LEVEL") ?? "info").lowercased()
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ValidationError("--log-level: \"\(level)\" is not a log level")
        }
        logLevel = parsedLevel

        if delayMax == 0 {
            delay = nil
        } else {
            guard delayMin <= delayMax else {
                throw ValidationError("--delay-min (\(delayMin)) is above --delay-max (\(delayMax))")
            }
            delay = delayMin...delayMax
        }
    }

    /// A numeric setting: the flag, else the environment variable, else the default; an error
    /// naming the flag and its range when outside it.
    static func number(_ flag: String, _ value: Int?, env name: String, default fallback: Int, in range: ClosedRange<Int>)
        throws -> Int
    {
        let resolved = try value ?? envInt(name) ?? fallback
        guard range.contains(resolved) else {
            let source = value == nil ? "METRICS_APP_\(name) (\(flag))" : flag
            throw ValidationError("\(source): \(resolved) is out of range; allowed: \(range.text)")
        }
        return resolved
    }

    static func env(_ name: String) -> String? {
        guard let value = getenv("METRICS_APP_" + name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static func envInt(_ name: String) throws -> Int? {
        guard let text = env(name) else { return nil }
        guard let value = Int(text.trimmingSpaces) else {
            throw ValidationError("METRICS_APP_\(name): \"\(text)\" is not a whole number")
        }
        return value
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}
