import Testing

@testable import MetricsKit

@Suite("OpenMetrics and content negotiation")
struct OpenMetricsTests {
    @Test(arguments: [
        // Prometheus 2.x
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", ExpositionFormat.openMetrics),
        // Prometheus 3.x
        ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1", .openMetrics),
        // Prometheus configured for text first
        ("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5", .prometheusText),
        ("*/*", .prometheusText), ("", .prometheusText), ("text/html", .prometheusText),
        ("application/openmetrics-text; version=1.0.0; q=0", .prometheusText),
        ("APPLICATION/OPENMETRICS-TEXT", .openMetrics),
        ("application/openmetrics-text;version=2.0.0", .prometheusText),
    ])
    func negotiatesTheBestSupportedFormat(accept: String, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected)
    }

    @Test func noAcceptHeaderMeansText() {
        #expect(ExpositionFormat.negotiate(accept: nil) == .prometheusText)
        #expect(ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(ExpositionFormat.prometheusText.contentType == MetricRegistry.contentType)
    }

    @Test func rendersOpenMetricsFamiliesAndEOF() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        try registry.counter("jobs_total", help: "Jobs \"done\".", labelNames: ["queue"]).labels("a").increment()
        try registry.counter("reads", help: "Reads.").increment(by: 2)
        let histogram = try registry.histogram("op_seconds", help: "Op.", buckets: [0.5, 1, 1e6])
        histogram.observe(0.75)
        try registry.gauge("level", help: "Level.").set(-1.5)
        #expect(
            registry.render(.openMetrics) == """
                # TYPE jobs counter
                # HELP jobs Jobs \\"done\\".
                jobs_total{queue="a"} 1
                # TYPE level gauge
                # HELP level Level.
                level -1.5
                # TYPE op_seconds histogram
                # HELP op_seconds Op.
                op_seconds_bucket{le="0.5"} 0
                op_seconds_bucket{le="1.0"} 1
                op_seconds_bucket{le="1e+06"} 1
                op_seconds_bucket{le="+Inf"} 1
                op_seconds_sum 0.75
                op_seconds_count 1
                # TYPE reads counter
                # HELP reads Reads.
                reads_total 2
                # EOF

                """)
    }

    @Test func createdSamplesFollowCountersAndHistograms() throws {
        let registry = MetricRegistry()
        let before = WallClock.secondsSinceEpoch()
        try registry.counter("jobs_total", help: "Jobs.").increment()
        _ = try registry.histogram("op_seconds", help: "Op.", buckets: [1])
        let values = ConcurrencyTests.samples(registry.render(.openMetrics))
        for name in ["jobs_created", "op_seconds_created"] {
            let created = try #require(values[name], "\(name) missing")
            #expect(abs(created - before) < 5)
        }
        #expect(!registry.render().contains("_created"))
    }

    @Test func canonicalBounds() {
        let cases: [(Double, String)] = [
            (0, "0.0"), (1, "1.0"), (10, "10.0"), (0.1, "0.1"), (0.001, "0.001"), (1e-5, "1e-05"), (1e6, "1e+06"),
            (2.5, "2.5"), (100_000, "100000.0"), (-1, "-1.0"), (.infinity, "+Inf"),
        ]
        for (value, expected) in cases {
            let text = String(decoding: ByteSink.bytes { TextWriter.appendCanonical(value, to: &$0) }, as: UTF8.self)
            #expect(text == expected, "\(value)")
        }
    }

    @Test func exemplarsAppearOnlyInOpenMetrics() throws {
        let registry = MetricRegistry(openMetricsCreatedSamples: false)
        let counter = try registry.counter("jobs_total", help: "Jobs.")
        counter.increment(by: 3, exemplar: ["trace_id": "abc"])
        let histogram = try registry.histogram("op_seconds", help: "Op.", buckets: [0.1, 1])
        histogram.observe(0.05, exemplar: ["trace_id": "first"])
        histogram.observe(0.07, exemplar: ["trace_id": "latest"])
        histogram.observe(Duration.milliseconds(500), exemplar: ["span_id": "s"])
        let om = registry.render(.openMetrics)
        #expect(om.contains("jobs_total 3 # {trace_id=\"abc\"} 3 1"))
        #expect(om.contains("op_seconds_bucket{le=\"0.1\"} 2 # {trace_id=\"latest\"} 0.07 1"))
        #expect(om.contains("op_seconds_bucket{le=\"1.0\"} 3 # {span_id=\"s\"} 0.5 1"))
        #expect(om.contains("op_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(!registry.render().contains("#  {") && !registry.render().contains("trace_id"))
        #expect(counter.value == 3)
    }

    @Test func oversizedOrMalformedExemplarsAreRefusedButTheUpdateCounts() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("jobs_total", help: "Jobs.")
        counter.increment(by: 1, exemplar: ["trace_id": String(repeating: "x", count: 120)])  // 128 with the name
        counter.increment(by: 1, exemplar: ["trace_id": String(repeating: "x", count: 121)])  // 129
        counter.increment(by: 1, exemplar: ["bad-name": "x"])
        let histogram = try registry.histogram("op_seconds", help: "Op.")
        histogram.observe(0.2, exemplar: ["é": "x"])
        #expect(counter.value == 3)
        #expect(histogram.snapshot().count == 1)
        let text = registry.render()
        #expect(text.contains("metricskit_rejected_updates_total{metric=\"jobs_total\",reason=\"invalid_exemplar\"} 2\n"))
        #expect(text.contains("metricskit_rejected_updates_total{metric=\"op_seconds\",reason=\"invalid_exemplar\"} 1\n"))
        #expect(registry.render(.openMetrics).contains("# {trace_id=\"" + String(repeating: "x", count: 120) + "\"}"))
    }

    @Test func collectorCountersGetOpenMetricsNames() throws {
        let registry = MetricRegistry()
        try registry.register(ProcessCollector())
        let om = registry.render(.openMetrics)
        #expect(om.contains("# TYPE process_cpu_seconds counter\n"))
        #expect(om.contains("\nprocess_cpu_seconds_total "))
        #expect(om.hasSuffix("# EOF\n"))
    }
}
