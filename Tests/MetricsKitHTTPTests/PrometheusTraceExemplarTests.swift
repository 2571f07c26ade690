import Foundation
import MetricsKit
import MetricsKitHTTP
import MetricsKitTracing
import Testing
import Tracing

#if canImport(Glibc)
    import Glibc
#endif

/// Exemplars taken from the current trace (MetricsKitTracing), stored by a real Prometheus 2.42
/// with exemplar storage, scraping a MetricsKitHTTP server in this process.
@Suite("Prometheus stores exemplars from the trace")
struct PrometheusTraceExemplarTests {
    @Test(.timeLimit(.minutes(2)))
    func prometheusStoresTheSpansOfTracedUpdates() throws {
        let registry = MetricRegistry()
        let jobs = try registry.counter("jobs_total", help: "Jobs done.", labelNames: ["queue"]).exemplarsFromTrace()
        let server = try HTTPServer.metrics(registry, host: "127.0.0.1", port: 0)
        defer { _ = server.shutdown(gracePeriod: .zero) }
        guard let prometheus = try PrometheusProcess(scraping: server.port, flags: ["--enable-feature=exemplar-storage"])
        else {
            Issue.record("prometheus not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`")
            return
        }
        // The task's tracer (withTracer), not a bootstrapped one: all test targets share a process.
        let tracer = TraceparentTracer()
        let span = tracer.startSpan("job", context: .topLevel)
        let expected = try withTracer(tracer) {
            ServiceContext.withValue(span.context) { jobs.labels("mail").increment() }
            return try #require(TraceExemplar.labels(of: span.context))
        }
        span.end()

        let deadline = ContinuousClock.now + .seconds(60)
        var found: [[String: String]] = []
        while ContinuousClock.now < deadline && found.isEmpty {
            usleep(500_000)
            let now = Int(Date().timeIntervalSince1970)
            if let answer = try? prometheus.query(
                "/api/v1/query_exemplars?query=jobs_total&start=\(now - 600)&end=\(now + 60)")
            {
                found = PrometheusExemplarTests.exemplarLabels(in: answer)
            }
        }
        #expect(found == [expected], "Prometheus' exemplars of jobs_total: \(found)")
    }
}
