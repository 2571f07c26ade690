import Foundation
import MetricsKit
import TestSupport
import Testing

@testable import MetricsKitPush

/// The client against a real Pushgateway: what arrives, read back from the gateway's /metrics
/// and from its API, for each method and each body format.
@Suite("Pushgateway (real prometheus-pushgateway)")
struct PushgatewayTests {
    /// A registry with a labeled counter, a gauge and a histogram, as a batch job would have.
    static func jobRegistry(rows: Double = 42) throws -> MetricRegistry {
        let registry = MetricRegistry()
        try registry.counter("backup_rows_total", help: "Rows backed up.", labelNames: ["table"])
            .labels("users").increment(by: rows)
        try registry.gauge("backup_last_success_timestamp_seconds", help: "When the last backup succeeded.")
            .set(1_700_000_000)
        let duration = try registry.histogram("backup_duration_seconds", help: "Backup time.", buckets: [1, 10])
        duration.observe(0.5)
        duration.observe(5)
        return registry
    }

    @Test(arguments: [Pushgateway.Format.protobuf, .text])
    func pushedValuesReadBackFromMetricsAndAPI(format: Pushgateway.Format) throws {
        let gateway = try PushgatewayProcess()
        let client = try Pushgateway(url: gateway.url, job: "nightly", grouping: ["instance": "db-1"], format: format)
        #expect(client.path == "/metrics/job/nightly/instance/db-1")
        try client.push(Self.jobRegistry())

        let samples = parseSamples(try gateway.metrics())
        #expect(samples[#"backup_rows_total{instance="db-1",job="nightly",table="users"}"#] == 42)
        #expect(samples[#"backup_last_success_timestamp_seconds{instance="db-1",job="nightly"}"#] == 1_700_000_000)
        #expect(samples[#"backup_duration_seconds_bucket{instance="db-1",job="nightly",le="1"}"#] == 1)
        #expect(samples[#"backup_duration_seconds_bucket{instance="db-1",job="nightly",le="+Inf"}"#] == 2)
        #expect(samples[#"backup_duration_seconds_sum{instance="db-1",job="nightly"}"#] == 5.5)

        let group = try #require(try gateway.group(["job": "nightly", "instance": "db-1"]))
        #expect(group.families["backup_rows_total"]?.type == "COUNTER")
        #expect(group.families["backup_rows_total"]?.series.first?.value == "42")
        #expect(group.families["backup_rows_total"]?.series.first?.labels["table"] == "users")
        #expect(group.families["backup_last_success_timestamp_seconds"]?.type == "GAUGE")
        #expect(group.families["backup_duration_seconds"]?.type == "HISTOGRAM")
        #expect(group.families["backup_duration_seconds"]?.series.first?.count == "2")
        // The gateway records the push as successful.
        #expect(group.families["push_time_seconds"]?.series.first.flatMap { Double($0.value ?? "") } ?? 0 > 0)
    }

    @Test func putReplacesTheWholeGroup() throws {
        let gateway = try PushgatewayProcess()
        let client = try Pushgateway(url: gateway.url, job: "replace")
        try client.push(Self.jobRegistry())
        let other = MetricRegistry()
        try other.counter("only_this_total", help: "The only metric of the second push.").increment()
        // A labeled family without series yet goes out as a family without metrics, which the
        // gateway accepts and lists with no series.
        _ = try other.counter("not_yet_total", help: "No series yet.", labelNames: ["kind"])
        try client.push(other)
        let group = try #require(try gateway.group(["job": "replace"]))
        #expect(group.pushedNames == ["only_this_total", "not_yet_total"])
        #expect(group.families["not_yet_total"]?.series.isEmpty == true)
    }

    @Test func postReplacesOnlyFamiliesOfTheSameName() throws {
        let gateway = try PushgatewayProcess()
        let client = try Pushgateway(url: gateway.url, job: "add")
        try client.push(Self.jobRegistry(rows: 42))
        let update = MetricRegistry()
        try update.counter("backup_rows_total", help: "Rows backed up.", labelNames: ["table"])
            .labels("orders").increment(by: 7)
        try update.gauge("backup_files", help: "Files written.").set(3)
        try client.add(update)
        let group = try #require(try gateway.group(["job": "add"]))
        #expect(group.pushedNames == [
            "backup_rows_total", "backup_last_success_timestamp_seconds", "backup_duration_seconds", "backup_files",
        ])
        // The family of the same name is replaced whole: the `users` series is gone.
        let rows = try #require(group.families["backup_rows_total"])
        #expect(rows.series.map { $0.labels["table"] } == ["orders"])
        #expect(rows.series.first?.value == "7")
    }

    @Test func deleteRemovesTheGroupAndNoOther() throws {
        let gateway = try PushgatewayProcess()
        let first = try Pushgateway(url: gateway.url, job: "cleanup", grouping: ["shard": "1"])
        let second = try Pushgateway(url: gateway.url, job: "cleanup", grouping: ["shard": "2"])
        try first.push(Self.jobRegistry())
        try second.push(Self.jobRegistry())
        try first.delete()
        #expect(try gateway.group(["job": "cleanup", "shard": "1"]) == nil)
        #expect(try gateway.group(["job": "cleanup", "shard": "2"]) != nil)
        #expect(parseSamples(try gateway.metrics()).keys.contains { $0.contains(#"shard="1""#) } == false)
    }

    @Test func slashesEmptyAndOddValuesRoundTrip() throws {
        let gateway = try PushgatewayProcess()
        let grouping = ["path": "/var/lib/db", "empty": "", "odd": "a b%c?d#e+f é"]
        let job = "etl/daily"
        let client = try Pushgateway(url: gateway.url, job: job, grouping: grouping)
        #expect(client.path.contains("/job@base64/ZXRsL2RhaWx5"))
        #expect(client.path.contains("/empty@base64/="))
        #expect(client.path.contains("/path@base64/L3Zhci9saWIvZGI"))
        try client.push(Self.jobRegistry())
        // The gateway keys the group by all three, the empty one too.
        var expected = grouping
        expected["job"] = job
        let groups = try gateway.groups()
        let group = try #require(groups.first { $0.labels == expected }, "groups: \(groups.map(\.labels))")
        #expect(group.families["backup_rows_total"]?.series.first?.labels["path"] == "/var/lib/db")
        #expect(group.families["backup_rows_total"]?.series.first?.labels["odd"] == "a b%c?d#e+f é")
        try client.delete()
        #expect(try gateway.group(expected) == nil)
    }

    @Test func refusesSeriesThatCarryJobOrAGroupingLabel() throws {
        let gateway = try PushgatewayProcess()
        let withJob = MetricRegistry()
        try withJob.counter("tasks_total", help: "Tasks.", labelNames: ["job"]).labels("x").increment()
        let client = try Pushgateway(url: gateway.url, job: "refused", grouping: ["instance": "a"])
        let error = #expect(throws: PushgatewayError.self) { try client.push(withJob) }
        #expect(error?.kind == .conflictingLabel)
        #expect(error?.metric == "tasks_total")
        #expect(error?.description.contains("job label") == true)

        let withGrouping = MetricRegistry()
        try withGrouping.gauge("queue_depth", help: "Depth.", constLabels: ["instance": "b"]).set(1)
        let second = #expect(throws: PushgatewayError.self) { try client.add(withGrouping) }
        #expect(second?.kind == .conflictingLabel)
        #expect(second?.description.contains(#"grouping label "instance""#) == true)
        // Nothing was sent.
        #expect(try gateway.groups().contains { $0.labels["job"] == "refused" } == false)
    }

    @Test func aRefusedPushNamesTheStatusAndCarriesTheGatewaysBody() throws {
        let gateway = try PushgatewayProcess()
        let counter = MetricRegistry()
        try counter.counter("jobs_done_total", help: "Jobs done.").increment()
        try Pushgateway(url: gateway.url, job: "first").push(counter)
        // The same name as a gauge in another group is inconsistent: the gateway refuses it.
        let gauge = MetricRegistry()
        try gauge.gauge("jobs_done_total", help: "Jobs done.").set(1)
        let client = try Pushgateway(url: gateway.url, job: "second")
        let error = #expect(throws: PushgatewayError.self) { try client.push(gauge) }
        #expect(error?.kind == .unexpectedStatus)
        #expect(error?.status == 400)
        let body = try #require(error?.body)
        #expect(body.contains("inconsistent"))
        #expect(error?.description.contains("400") == true)
        #expect(error?.description.contains(body.trimmingCharacters(in: .newlines)) == true)
    }

    @Test func invalidConfigurationIsRefusedUpFront() {
        func kind(_ make: () throws(PushgatewayError) -> Pushgateway) -> PushgatewayError.Kind? {
            do {
                _ = try make()
                return nil
            } catch { return error.kind }
        }
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "http://h:9091", job: "") } == .invalidConfiguration)
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "https://h:9091", job: "j") } == .invalidConfiguration)
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "http://h:x", job: "j") } == .invalidConfiguration)
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "h:9091", job: "j", grouping: ["job": "x"]) } == .invalidConfiguration)
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "h:9091", job: "j", grouping: ["a-b": "x"]) } == .invalidConfiguration)
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "h:9091/prefix/", job: "j") } == nil)
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "h x:9091", job: "j") } == .invalidConfiguration)
        for path in ["h:9091/a b", "h:9091/a\r\nX: 1", "h:9091/p?q=1", "h:9091/p#f"] {
            #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: path, job: "j") } == .invalidConfiguration)
        }
        #expect(kind { () throws(PushgatewayError) in try Pushgateway(url: "h:9091", job: "j", timeout: .seconds(Int64.max)) } == .invalidConfiguration)
        #expect(kind { () throws(PushgatewayError) in
            try Pushgateway(url: "h:9091", job: "j", authorization: .bearer("t\r\nX-Injected: 1"))
        } == .invalidConfiguration)
    }
}

/// Credentials, the timeout and failures to connect.
@Suite("Pushgateway client: authentication, timeout, connection")
struct PushgatewayConnectionTests {
    /// The bcrypt hash of "s3cret" (cost 4), as exporter-toolkit's basic_auth_users wants it.
    static let webConfig = """
        basic_auth_users:
          batch: $2b$04$a8le2SxIx8pnQw6ozeWSiuT5GK6oql5EcrTH3Zzjol2uZJfZT3TrS
        """

    @Test func basicAuthIsAcceptedByAGatewayBehindAuthentication() throws {
        let gateway = try PushgatewayProcess(webConfig: Self.webConfig)
        let registry = try PushgatewayTests.jobRegistry()
        let anonymous = try Pushgateway(url: gateway.url, job: "guarded")
        let refused = #expect(throws: PushgatewayError.self) { try anonymous.push(registry) }
        #expect(refused?.status == 401)
        let wrong = try Pushgateway(
            url: gateway.url, job: "guarded", authorization: .basic(username: "batch", password: "wrong"))
        #expect(throws: PushgatewayError.self) { try wrong.push(registry) }
        let client = try Pushgateway(
            url: gateway.url, job: "guarded", authorization: .basic(username: "batch", password: "s3cret"))
        try client.push(registry)
        try client.delete()
    }

    @Test func headersAreWhatTheGatewayExpects() throws {
        let server = try CapturingServer(
            answer: "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\ntoken expired\n")
        let client = try Pushgateway(url: "127.0.0.1:\(server.port)/gw", job: "j", authorization: .bearer("abc.def"))
        let error = #expect(throws: PushgatewayError.self) { try client.push(MetricRegistry()) }
        #expect(error?.status == 403)
        #expect(error?.body == "token expired\n")
        #expect(error?.description == "Pushgateway answered 403 Forbidden to PUT /gw/metrics/job/j: token expired")
        let request = try #require(server.received.first)
        #expect(request.hasPrefix("PUT /gw/metrics/job/j HTTP/1.1\r\n"))
        #expect(request.contains("\r\nAuthorization: Bearer abc.def\r\n"))
        #expect(request.contains(
            "\r\nContent-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited\r\n"))

        let basic = try Pushgateway(
            url: "http://127.0.0.1:\(server.port)", job: "j", format: .text,
            authorization: .basic(username: "Aladdin", password: "open sesame"))
        #expect(throws: PushgatewayError.self) { try basic.delete() }
        #expect(server.received.last?.hasPrefix("DELETE /metrics/job/j HTTP/1.1\r\n") == true)
        // RFC 7617's example.
        #expect(server.received.last?.contains("\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n") == true)
    }

    @Test func aGatewayThatDoesNotAnswerTimesOut() throws {
        let server = try CapturingServer(answer: nil)
        let client = try Pushgateway(url: "127.0.0.1:\(server.port)", job: "j", timeout: .milliseconds(300))
        let error = #expect(throws: PushgatewayError.self) { try client.push(try PushgatewayTests.jobRegistry()) }
        #expect(error?.kind == .timedOut)
    }

    @Test func nothingListeningIsAConnectionFailure() throws {
        let port = try LoopbackPort.free()
        let client = try Pushgateway(url: "127.0.0.1:\(port)", job: "j")
        let error = #expect(throws: PushgatewayError.self) { try client.delete() }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.description.contains("refused") == true)
    }
}

@Suite("Pushgateway (real prometheus-pushgateway): native histograms")
struct PushgatewayNativeHistogramTests {
    @Test func aNativeHistogramArrivesInTheProtobufBody() throws {
        let gateway = try PushgatewayProcess()
        let registry = MetricRegistry()
        let sizes = try registry.histogram(
            "batch_payload_bytes", help: "Payload sizes.", buckets: [], native: NativeHistogramOptions())
        for size in [100.0, 200, 400, 800] { sizes.observe(size) }
        try Pushgateway(url: gateway.url, job: "native").push(registry)
        let group = try #require(try gateway.group(["job": "native"]))
        let series = try #require(group.families["batch_payload_bytes"]?.series.first)
        #expect(group.families["batch_payload_bytes"]?.type == "HISTOGRAM")
        #expect(series.count == "4")
        #expect(series.sum == "1500")
        // The gateway keeps the native buckets and serves them in protobuf: schema 3 (factor
        // 1.1), each observation in a bucket of its own.
        let family = try #require(try gateway.protobufFamilies().first { $0["name"] as? String == "batch_payload_bytes" })
        let histogram = try #require(((family["metric"] as? [[String: Any]])?.first)?["histogram"] as? [String: Any])
        #expect(histogram["schema"] as? Int == 3)
        #expect((histogram["positive_span"] as? [Any])?.count == 4)
        let deltas = histogram["positive_delta"] as? [Int] ?? []
        #expect(deltas.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1) } == [1, 1, 1, 1])
    }
}
