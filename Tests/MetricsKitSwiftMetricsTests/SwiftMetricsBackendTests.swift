import CoreMetrics
import Foundation
import Metrics
import MetricsKit
import TestSupport
import Testing

@testable import MetricsKitSwiftMetrics

@Suite("swift-metrics backend")
struct SwiftMetricsBackendTests {
    @Test func drivesEveryMetricKindThroughSwiftMetrics() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let factory = MetricsKitFactory(registry: registry)
        CoreMetrics.Counter(label: "http.server.requests", dimensions: [("http.method", "GET"), ("status-code", "200")], factory: factory)
            .increment(by: 3)
        FloatingPointCounter(label: "bytes.sent", factory: factory).increment(by: 2.5)
        Gauge(label: "queue.depth", factory: factory).record(7)
        let meter = Meter(label: "connections", factory: factory)
        meter.set(10)
        meter.increment(by: 2)
        meter.decrement(by: 1)
        Recorder(label: "payload.size", factory: factory).record(300)
        let timer = Metrics.Timer(label: "db.query", dimensions: [("le", "x")], factory: factory)
        timer.recordMilliseconds(250)
        timer.recordNanoseconds(5_000_000)

        let text = registry.render()
        #expect(text.contains("# TYPE http_server_requests_total counter\n"))
        #expect(text.contains("# HELP http_server_requests_total http.server.requests (swift-metrics)\n"))
        #expect(text.contains("http_server_requests_total{http_method=\"GET\",status_code=\"200\"} 3\n"))
        #expect(text.contains("bytes_sent_total 2.5\n"))
        #expect(text.contains("# TYPE queue_depth gauge\nqueue_depth 7\n"))
        #expect(text.contains("connections 11\n"))
        #expect(text.contains("# TYPE payload_size histogram\n"))
        #expect(text.contains("payload_size_bucket{le=\"+Inf\"} 1\n"))
        #expect(text.contains("payload_size_sum 300\n"))
        #expect(text.contains("# TYPE db_query_seconds histogram\n"))
        #expect(text.contains("db_query_seconds_bucket{le_=\"x\",le=\"0.01\"} 1\n"))
        #expect(text.contains("db_query_seconds_bucket{le_=\"x\",le=\"0.25\"} 2\n"))
        #expect(text.contains("db_query_seconds_sum{le_=\"x\"} 0.255\n"))
    }

    @Test func destroyRemovesTheSeries() throws {
        let registry = MetricRegistry()
        let factory = MetricsKitFactory(registry: registry)
        let counter = CoreMetrics.Counter(label: "jobs", dimensions: [("queue", "a")], factory: factory)
        counter.increment()
        #expect(registry.render().contains("jobs_total{queue=\"a\"} 1"))
        counter.destroy()
        #expect(!registry.render().contains("jobs_total{queue=\"a\"}"))
        counter.reset()  // a destroyed handler stays safe to use
    }

    @Test func counterResetStartsFromZero() throws {
        let registry = MetricRegistry()
        let counter = CoreMetrics.Counter(label: "jobs", factory: MetricsKitFactory(registry: registry))
        counter.increment(by: 5)
        counter.reset()
        counter.increment()
        #expect(registry.render().contains("\njobs_total 1\n"))
    }

    /// swift-prometheus 2.4.1 accepts the differing key sets but stops the process
    /// (`fatalError`) at the unlabeled `requests` after labeled ones; MetricsKit renders one
    /// family with every label set and loses none.
    @Test func sameNameWithDifferentDimensionKeysDoesNotCrashOrLoseData() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let factory = MetricsKitFactory(registry: registry)
        CoreMetrics.Counter(label: "requests", dimensions: [("method", "GET")], factory: factory).increment()
        CoreMetrics.Counter(label: "requests", dimensions: [("method", "GET"), ("status", "200")], factory: factory)
            .increment(by: 2)
        CoreMetrics.Counter(label: "requests", factory: factory).increment(by: 4)
        // Key order does not matter.
        CoreMetrics.Counter(label: "requests", dimensions: [("status", "200"), ("method", "GET")], factory: factory)
            .increment(by: 8)
        let text = registry.render()
        #expect(text.components(separatedBy: "# TYPE requests_total counter").count == 2)
        #expect(text.contains("requests_total{method=\"GET\"} 1\n"))
        #expect(text.contains("requests_total{method=\"GET\",status=\"200\"} 10\n"))
        #expect(text.contains("requests_total 4\n"))
        // Both text parsers and promtool accept it.
        try ParserCheck.expectAccepted(text, openMetrics: registry.render(.openMetrics))
    }

    @Test func sameNameAsAnotherKindIsExportedUnderASuffixedName() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let factory = MetricsKitFactory(registry: registry)
        Gauge(label: "workers_total", factory: factory).record(3)  // takes the name a counter would use
        CoreMetrics.Counter(label: "workers", factory: factory).increment()
        let text = registry.render()
        #expect(text.contains("\nworkers_total 3\n"))
        #expect(text.contains("\nworkers_swift_metrics_total 1\n"))
    }

    /// The renames carry no type word and keep `_total` last, so promtool's lint passes
    /// (`orders_total_counter` and `x_gauge` did not).
    @Test func conflictRenamesPassPromtoolLint() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let own = try registry.counter("orders_total", help: "Orders, the application's own.", labelNames: ["shop"])
        own.labels("a").increment()
        let factory = MetricsKitFactory(registry: registry)
        CoreMetrics.Counter(label: "orders", factory: factory).increment(by: 2)
        _ = try registry.histogram("latency_seconds", help: "The application's own.")
        Gauge(label: "latency_seconds", factory: factory).record(4)  // a gauge where a histogram is
        Metrics.Timer(label: "latency", factory: factory).recordMilliseconds(20)  // a timer too
        CoreMetrics.Counter(label: "x", factory: factory).increment()
        Gauge(label: "x", factory: factory).record(2)
        let text = registry.render()
        #expect(text.contains("\norders_swift_metrics_total 2\n"))
        #expect(text.contains("\nlatency_seconds_swift_metrics 4\n"))
        #expect(text.contains("\nlatency_swift_metrics_seconds_count 1\n"))
        #expect(text.contains("\nx_total 1\n") && text.contains("\nx_swift_metrics 2\n"))
        for word in ["counter", "gauge", "histogram", "summary"] {
            #expect(!text.contains("_\(word) ") && !text.contains("_\(word)_"), "type word \(word) in a name")
        }
        try ParserCheck.expectAccepted(text, openMetrics: registry.render(.openMetrics))
    }

    @Test func counterAndGaugeOfOneLabelStayDistinctFamilies() throws {
        let registry = MetricRegistry()
        let factory = MetricsKitFactory(registry: registry)
        CoreMetrics.Counter(label: "x", factory: factory).increment()
        Gauge(label: "x", factory: factory).record(2)
        let text = registry.render(.openMetrics)
        #expect(text.components(separatedBy: "# TYPE x ").count == 2)
        #expect(text.contains("\nx_total 1\n") && text.contains("\nx_swift_metrics 2\n"))
    }

    @Test func invalidConfiguredBucketsFallBackToTheDefaults() throws {
        let registry = MetricRegistry()
        var configuration = MetricsKitFactory.Configuration()
        configuration.buckets["render"] = [2, 1, .nan]
        let factory = MetricsKitFactory(registry: registry, configuration: configuration)
        Metrics.Timer(label: "render", dimensions: [("a", "1"), ("b", "2")], factory: factory).recordNanoseconds(30_000_000)
        #expect(registry.render().contains("render_seconds_bucket{a=\"1\",b=\"2\",le=\"0.05\"} 1\n"))
    }

    @Test func namesTakenByTheApplicationNeverTrap() throws {
        let registry = MetricRegistry()
        _ = try registry.gauge("busy_total", help: "The application's own.")
        for taken in ["busy_swift_metrics_total", "busy_swift_metrics_2_total", "busy_swift_metrics_3_total"] {
            _ = try registry.gauge(taken, help: "The application's own too.")
        }
        let counter = CoreMetrics.Counter(
            label: "busy", dimensions: [("a", "1"), ("b", "2"), ("c", "3")], factory: MetricsKitFactory(registry: registry))
        counter.increment()  // recorded on a series that is never exported, without trapping
        counter.destroy()
        #expect(!registry.render().contains("swift-metrics"))
    }

    @Test func namesAreSanitizedByTheDocumentedRule() {
        #expect(Naming.metricName("http.server-requests") == "http_server_requests")
        #expect(Naming.metricName("9lives") == "_9lives")
        #expect(Naming.metricName("ns:sub.x") == "ns:sub_x")
        #expect(Naming.labelName("http.method", histogram: false) == "http_method")
        #expect(Naming.labelName("__meta", histogram: false) == "_meta")
        #expect(Naming.labelName("le", histogram: true) == "le_")
        #expect(Naming.labelName("le", histogram: false) == "le")
        #expect(Naming.labelName("a:b", histogram: false) == "a_b")
        let pairs = Naming.labelPairs([("a.b", "1"), ("a-b", "2")], histogram: false)
        #expect(pairs.map(\.0) == ["a_b", "a_b_2"])
        let crowded = Naming.labelPairs([("a_b_2", "x"), ("a.b", "1"), ("a-b", "2")], histogram: false)
        #expect(Set(crowded.map(\.0)).count == 3)
    }

    @Test func bootstrapRoutesTheGlobalAPI() throws {
        let registry = MetricRegistry()
        MetricsSystem.bootstrap(MetricsKitFactory(registry: registry))  // once per process: only this test does it
        CoreMetrics.Counter(label: "bootstrapped").increment()
        #expect(registry.render().contains("\nbootstrapped_total 1\n"))
    }

    @Test func perMetricBucketsWin() throws {
        let registry = MetricRegistry()
        var configuration = MetricsKitFactory.Configuration()
        configuration.buckets["render"] = [0.001, 0.002]
        let factory = MetricsKitFactory(registry: registry, configuration: configuration)
        Metrics.Timer(label: "render", factory: factory).recordNanoseconds(1_500_000)
        let text = registry.render()
        #expect(text.contains("render_seconds_bucket{le=\"0.002\"} 1\n"))
        #expect(!text.contains("render_seconds_bucket{le=\"0.005\"}"))
    }
}

/// promtool and prometheus_client's parsers, as in MetricsKit's conformance tests.
enum ParserCheck {
    /// promtool exits non-zero on a lint finding as well as on a parse error.
    static func expectAccepted(_ text: String, openMetrics: String) throws {
        guard let python = TestTools.venvPython else {
            Issue.record(".venv/bin/python not found: run `make test` (it creates .venv with prometheus-client)")
            return
        }
        for (script, body) in [("parse_text.py", text), ("parse_openmetrics.py", openMetrics)] {
            let path = repositoryRoot.appendingPathComponent("Tests/conformance/\(script)").path
            let (status, output) = try TestTools.run(python, [path], input: body)
            #expect(status == 0, "\(script) failed: \(output)\n\(body)")
        }
        guard let promtool = TestTools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)")
            return
        }
        let (status, output) = try TestTools.run(promtool, ["check", "metrics"], input: text)
        #expect(status == 0, "promtool: \(output)\n\(text)")
    }
}

@Suite("swift-metrics backend: mapping and units")
struct SwiftMetricsNamingTests {
    /// Hummingbird's names, mapped as the README shows; nil keeps the default for the rest.
    @Test func mappingHookRenamesAndRelabels() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        var configuration = MetricsKitFactory.Configuration()
        configuration.mapping = { label, dimensions in
            guard label == "hb.requests" else { return nil }
            let labels = dimensions.compactMap { key, value -> (String, String)? in
                switch key {
                case "http.request.method": ("method", value)
                case "http.response.status_code": ("status", value)
                default: nil  // dropped
                }
            }
            return MappedMetric(name: "http.server.requests", labels: labels)
        }
        let factory = MetricsKitFactory(registry: registry, configuration: configuration)
        let dimensions = [("http.route", "/x"), ("http.request.method", "GET"), ("http.response.status_code", "200")]
        CoreMetrics.Counter(label: "hb.requests", dimensions: dimensions, factory: factory).increment()
        CoreMetrics.Counter(label: "hb.requests", dimensions: dimensions, factory: factory).increment()
        CoreMetrics.Counter(label: "other.thing", dimensions: [("a.b", "1")], factory: factory).increment()
        let text = registry.render()
        // Cleaned and given `_total`, as an unmapped name would be.
        #expect(text.contains("# TYPE http_server_requests_total counter\n"))
        #expect(text.contains("\nhttp_server_requests_total{method=\"GET\",status=\"200\"} 2\n"))
        #expect(!text.contains("hb_requests"))
        #expect(text.contains("\nother_thing_total{a_b=\"1\"} 1\n"))
        try ParserCheck.expectAccepted(text, openMetrics: registry.render(.openMetrics))
    }

    @Test func mappingToAnExistingSuffixDoesNotRepeatIt() throws {
        let registry = MetricRegistry()
        var configuration = MetricsKitFactory.Configuration()
        configuration.mapping = { label, dimensions in MappedMetric(name: "mapped_" + label + "_total", labels: dimensions) }
        let factory = MetricsKitFactory(registry: registry, configuration: configuration)
        CoreMetrics.Counter(label: "jobs", factory: factory).increment()
        #expect(registry.render().contains("\nmapped_jobs_total 1\n"))
    }

    @Test func timersAreSecondsWithASecondsSuffixByDefault() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let factory = MetricsKitFactory(registry: registry)
        Metrics.Timer(label: "http.server.request.duration", factory: factory).recordMilliseconds(30)
        // Vapor's timer already ends with the unit: not doubled.
        Metrics.Timer(label: "http_request_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
            .recordMilliseconds(200)
        let text = registry.render()
        #expect(text.contains("# TYPE http_server_request_duration_seconds histogram\n"))
        #expect(text.contains("\nhttp_server_request_duration_seconds_bucket{le=\"0.05\"} 1\n"))
        #expect(text.contains("\nhttp_server_request_duration_seconds_sum 0.03\n"))
        #expect(text.contains("\nhttp_request_duration_seconds_sum 0.2\n"))
        #expect(!text.contains("seconds_seconds"))
        try ParserCheck.expectAccepted(text, openMetrics: registry.render(.openMetrics))
    }

    @Test func timerUnitIsConfigurableAndBucketsFollowIt() throws {
        let registry = MetricRegistry()
        var configuration = MetricsKitFactory.Configuration()
        configuration.timerUnit = .milliseconds
        let factory = MetricsKitFactory(registry: registry, configuration: configuration)
        Metrics.Timer(label: "query", factory: factory).recordMicroseconds(1_500)
        let text = registry.render()
        #expect(text.contains("# TYPE query_milliseconds histogram\n"))
        #expect(text.contains("\nquery_milliseconds_bucket{le=\"25\"} 1\n"))  // 0.025 s, exactly
        #expect(text.contains("\nquery_milliseconds_bucket{le=\"5\"} 1\n"))
        #expect(text.contains("\nquery_milliseconds_sum 1.5\n"))
    }

    @Test func preferredDisplayUnitIsHonouredWhereItApplies() throws {
        let registry = MetricRegistry()
        let factory = MetricsKitFactory(registry: registry)
        Metrics.Timer(label: "cache.lookup", preferredDisplayUnit: .microseconds, factory: factory).recordNanoseconds(2_500)
        Metrics.Timer(label: "batch", preferredDisplayUnit: .minutes, factory: factory).recordSeconds(90)
        let text = registry.render()
        #expect(text.contains("\ncache_lookup_microseconds_sum 2.5\n"))
        #expect(text.contains("\nbatch_seconds_sum 90\n"))  // no Prometheus unit for minutes
        #expect(!text.contains("cache_lookup_seconds"))

        var ignoring = MetricsKitFactory.Configuration()
        ignoring.honoursPreferredDisplayUnit = false
        let other = MetricRegistry()
        let timer = Metrics.Timer(
            label: "cache.lookup", preferredDisplayUnit: .microseconds, factory: MetricsKitFactory(registry: other, configuration: ignoring))
        #expect(other.render().contains("\ncache_lookup_seconds_count 0\n"))  // exported at creation
        timer.recordNanoseconds(2_500)
        #expect(other.render().contains("\ncache_lookup_seconds_sum 2.5e-06\n"))
    }

    @Test func destroyedTimerIsRemoved() throws {
        let registry = MetricRegistry()
        let factory = MetricsKitFactory(registry: registry)
        let timer = Metrics.Timer(label: "t", dimensions: [("k", "v")], factory: factory)
        timer.recordSeconds(1)
        #expect(registry.render().contains("t_seconds_count{k=\"v\"} 1"))
        timer.destroy()
        #expect(!registry.render().contains("t_seconds_count{k=\"v\"}"))
    }
}

/// The labels and dimensions Hummingbird 2.28.1's MetricsMiddleware and Vapor 4.122.3's
/// DefaultResponder pass to swift-metrics (copied from their sources), and the names the
/// backend exports for them without a mapping hook: the README's "default name" column.
@Suite("swift-metrics backend: framework names")
struct FrameworkNameTests {
    @Test func hummingbirdMiddlewareNamesWithoutMapping() throws {
        let registry = MetricRegistry()
        let factory = MetricsKitFactory(registry: registry)
        let endpoint = [("http.route", "/hello"), ("http.request.method", "GET"), ("http.response.status_code", "200")]
        CoreMetrics.Counter(label: "hb.requests", dimensions: endpoint, factory: factory).increment()
        Metrics.Timer(label: "http.server.request.duration", dimensions: endpoint, preferredDisplayUnit: .seconds, factory: factory)
            .recordMilliseconds(3)
        CoreMetrics.Counter(
            label: "hb.request.errors",
            dimensions: [("http.route", "NotFound"), ("http.request.method", "GET"), ("error.type", "404")], factory: factory
        ).increment()
        Meter(label: "http.server.active_requests", dimensions: [("http.request.method", "GET")], factory: factory).increment()
        let text = registry.render()
        #expect(text.contains("\nhb_requests_total{http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/hello\"} 1\n"))
        #expect(text.contains("\nhttp_server_request_duration_seconds_count{http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/hello\"} 1\n"))
        #expect(text.contains("\nhb_request_errors_total{error_type=\"404\",http_request_method=\"GET\",http_route=\"NotFound\"} 1\n"))
        #expect(text.contains("\nhttp_server_active_requests{http_request_method=\"GET\"} 1\n"))
        try ParserCheck.expectAccepted(text, openMetrics: registry.render(.openMetrics))
    }

    @Test func vaporResponderNamesWithoutMapping() throws {
        let registry = MetricRegistry()
        let factory = MetricsKitFactory(registry: registry)
        let dimensions = [("method", "GET"), ("path", "/hello"), ("status", "500")]
        CoreMetrics.Counter(label: "http_requests_total", dimensions: dimensions, factory: factory).increment()
        CoreMetrics.Counter(label: "http_request_errors_total", dimensions: dimensions, factory: factory).increment()
        Metrics.Timer(label: "http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            .recordNanoseconds(2_000_000)
        let text = registry.render()
        #expect(text.contains("\nhttp_requests_total{method=\"GET\",path=\"/hello\",status=\"500\"} 1\n"))
        #expect(text.contains("\nhttp_request_errors_total{method=\"GET\",path=\"/hello\",status=\"500\"} 1\n"))
        #expect(text.contains("\nhttp_request_duration_seconds_sum{method=\"GET\",path=\"/hello\",status=\"500\"} 0.002\n"))
        try ParserCheck.expectAccepted(text, openMetrics: registry.render(.openMetrics))
    }
}
