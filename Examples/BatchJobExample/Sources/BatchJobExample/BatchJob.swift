// A nightly import job: it processes records, then pushes what it measured to a Pushgateway,
// where Prometheus scrapes it after the job has exited.
//
//   BatchJobExample --gateway http://127.0.0.1:9091 [--records N] [--fail-at N] [--instance NAME]
//
// On success it PUTs the whole registry (replacing the group's previous run). On failure it
// POSTs only the failure families (`import_last_failure_timestamp_seconds`, `import_phase`),
// so the last success's timestamp and counts stay on the gateway for alerting. The exit status
// is 0 on success, 1 when the job failed, 2 when the push failed (its error names the status
// and carries the gateway's answer).
import MetricsKit
import MetricsKitPush

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@main
struct BatchJob {
    static let version = "1.0.0"

    struct Options {
        var gateway = "http://127.0.0.1:9091"
        var records = 100
        var failAt: Int?
        var instance = "importer-1"
    }

    static func main() {
        let options: Options
        do { options = try parse(Array(CommandLine.arguments.dropFirst())) } catch {
            print("usage: BatchJobExample --gateway URL [--records N] [--fail-at N] [--instance NAME]: \(error)")
            exit(64)
        }
        do {
            let failed = try run(options)
            exit(failed ? 1 : 0)
        } catch let error as PushgatewayError {
            print("push failed: \(error)")
            exit(2)
        } catch {
            print("error: \(error)")
            exit(3)
        }
    }

    /// Runs the job and pushes; returns whether the job (not the push) failed.
    static func run(_ options: Options) throws -> Bool {
        let registry = MetricRegistry()
        try registry.info("import_build_info", help: "The import job's build.", labels: ["version": version])
        let phase = try phaseMetric(in: registry)
        let processed = try registry.counter(
            "import_records_total", help: "Records imported by the last successful run, by outcome.", labelNames: ["outcome"])
        let recordSize = try registry.histogram(
            "import_record_bytes", help: "Size of the records imported.", buckets: [64, 256, 1024, 4096])
        let lastSuccess = try registry.gauge(
            "import_last_success_timestamp_seconds", help: "When the last run succeeded, Unix seconds.")
        let lastFailure = try lastFailureMetric(in: registry)

        let gateway = try Pushgateway(url: options.gateway, job: "nightly_import", grouping: ["instance": options.instance])
        phase.set("running")
        for record in 0..<options.records {
            if record == options.failAt {
                phase.set("failed")
                lastFailure.setToCurrentTime()
                // Only the failure families: the gateway keeps the last success's others.
                let failure = MetricRegistry()
                try phaseMetric(in: failure).set("failed")
                try lastFailureMetric(in: failure).set(lastFailure.value)
                try gateway.add(failure)
                print("import failed at record \(record); pushed the failure to \(options.gateway)\(gateway.path)")
                return true
            }
            processed.labels("imported").increment()
            recordSize.observe(Double(64 + (record * 37) % 4000))  // a stand-in for real record sizes
        }
        phase.set("succeeded")
        lastSuccess.setToCurrentTime()
        try gateway.push(registry)
        print("imported \(options.records) records; pushed to \(options.gateway)\(gateway.path)")
        return false
    }

    static func phaseMetric(in registry: MetricRegistry) throws -> StateSet {
        try registry.stateSet(
            "import_phase", help: "The phase the last run ended in.", states: ["running", "succeeded", "failed"])
    }

    static func lastFailureMetric(in registry: MetricRegistry) throws -> Gauge {
        try registry.gauge("import_last_failure_timestamp_seconds", help: "When the last run failed, Unix seconds.")
    }

    static func parse(_ arguments: [String]) throws -> Options {
        struct BadArgument: Error, CustomStringConvertible { let description: String }
        var options = Options()
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw BadArgument(description: "\(flag) needs a value") }
            switch flag {
            case "--gateway": options.gateway = value
            case "--instance": options.instance = value
            case "--records", "--fail-at":
                guard let number = Int(value), number >= 0 else {
                    throw BadArgument(description: "\(flag) takes a whole number, not \(value)")
                }
                if flag == "--records" { options.records = number } else { options.failAt = number }
            default: throw BadArgument(description: "unknown flag \(flag)")
            }
        }
        return options
    }
}
