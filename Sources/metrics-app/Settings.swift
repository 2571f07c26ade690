import ArgumentParser
import Logging
import MetricsKitHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// The resolved configuration: command-line flag, else environment variable, else default.
struct Settings {
    var host = "0.0.0.0"
    var port = 8080
    var threads = HTTPServer.cpuCount
    var delay: ClosedRange<Int>? = 100...499  // milliseconds; nil: no delay
    var maxConcurrency = 0
    var cpuWorkMilliseconds = 0
    var buckets = HTTPMetrics.defaultBuckets
    var instrumentProbes = false
    var nativeHistograms = true
    var shutdownTimeout = 25
    var connectionTimeout = 15
    var maxConnections = 4096
    var maxBodyBytes = 1 << 20
    var syntheticSeries = 0
    var jsonLogs = false
    var logLevel = Logger.Level.info

    init(_ flags: MetricsApp) throws {
        host = flags.host ?? Self.env("HOST") ?? host
        port = try flags.port ?? Self.envInt("PORT") ?? port
        threads = try flags.threads ?? Self.envInt("THREADS") ?? threads
        let delayMin = try flags.delayMin ?? Self.envInt("DELAY_MIN") ?? 100
        let delayMax = try flags.delayMax ?? Self.envInt("DELAY_MAX") ?? 499
        maxConcurrency = try flags.maxConcurrency ?? Self.envInt("MAX_CONCURRENCY") ?? maxConcurrency
        cpuWorkMilliseconds = try flags.cpuWork ?? Self.envInt("CPU_WORK") ?? cpuWorkMilliseconds
        if let text = flags.buckets ?? Self.env("BUCKETS") {
            let parsed = text.split(separator: ",").map { Double($0.trimmingSpaces) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--buckets: \"\(text)\" is not a comma-separated list of numbers")
            }
            buckets = parsed.map { $0! }
        }
        instrumentProbes = try Self.bool(flags.instrumentProbes, "INSTRUMENT_PROBES") ?? instrumentProbes
        nativeHistograms = try Self.bool(flags.nativeHistograms, "NATIVE_HISTOGRAMS") ?? nativeHistograms
        shutdownTimeout = try flags.shutdownTimeout ?? Self.envInt("SHUTDOWN_TIMEOUT") ?? shutdownTimeout
        connectionTimeout = try flags.connectionTimeout ?? Self.envInt("CONNECTION_TIMEOUT") ?? connectionTimeout
        maxConnections = try flags.maxConnections ?? Self.envInt("MAX_CONNECTIONS") ?? maxConnections
        maxBodyBytes = try flags.maxBodyBytes ?? Self.envInt("MAX_BODY_BYTES") ?? maxBodyBytes
        syntheticSeries = try flags.syntheticSeries ?? Self.envInt("SYNTHETIC_SERIES") ?? syntheticSeries
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

        guard (0...65535).contains(port) else { throw ValidationError("--port: \(port) is not a port") }
        guard threads >= 1 else { throw ValidationError("--threads: needs at least 1") }
        guard delayMin >= 0, delayMax >= 0 else { throw ValidationError("--delay-min/--delay-max: must not be negative") }
        if delayMax == 0 {
            delay = nil
        } else {
            guard delayMin <= delayMax else {
                throw ValidationError("--delay-min (\(delayMin)) is above --delay-max (\(delayMax))")
            }
            delay = delayMin...delayMax
        }
        guard maxConcurrency >= 0 else { throw ValidationError("--max-concurrency: must not be negative") }
        guard cpuWorkMilliseconds >= 0 else { throw ValidationError("--cpu-work: must not be negative") }
        guard shutdownTimeout >= 0 else { throw ValidationError("--shutdown-timeout: must not be negative") }
        guard connectionTimeout >= 1 else { throw ValidationError("--connection-timeout: needs at least 1 second") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections: needs at least 1") }
        guard syntheticSeries >= 0 else { throw ValidationError("--synthetic-series: must not be negative") }
        guard maxBodyBytes >= 0 else { throw ValidationError("--max-body-bytes: must not be negative") }
    }

    static func env(_ name: String) -> String? {
        guard let value = getenv("METRICS_APP_" + name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// A true/false setting: the flag, else `METRICS_APP_<name>`.
    static func bool(_ flag: Bool?, _ name: String) throws -> Bool? {
        guard let text = flag.map(String.init) ?? env(name) else { return nil }
        guard let value = Bool(text.lowercased()) else {
            throw ValidationError("METRICS_APP_\(name): \"\(text)\" is not true or false")
        }
        return value
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
