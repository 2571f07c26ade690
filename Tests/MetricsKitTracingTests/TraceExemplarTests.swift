import MetricsKit
import MetricsKitTracing
import Testing
import TestSupport
import Tracing

/// The tracer of these tests, made the task's instrument by `withTracer` rather than
/// bootstrapped: every test target runs in one process, where `InstrumentationSystem.bootstrap`
/// may happen only once.
let testTracer = TraceparentTracer()

/// The OpenMetrics exemplar `# {…} value timestamp` of the first `sample` line that has one.
func exemplar(of sample: String, in registry: MetricRegistry) -> (labels: [String: String], line: String)? {
    for line in registry.render(.openMetrics).split(separator: "\n") where line.hasPrefix(sample) {
        let parts = line.split(separator: " # {", maxSplits: 1)
        guard parts.count == 2 else { continue }
        let inner = parts[1].prefix { $0 != "}" }
        var labels: [String: String] = [:]
        for pair in inner.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
        }
        return (labels, String(line))
    }
    return nil
}

@Suite struct TraceExemplarTests {
    @Test func anIncrementInsideASpanCarriesItsTraceAndSpanID() throws {
        try withTracer(testTracer) {
            let tracer = testTracer
            let registry = MetricRegistry()
            let orders = try registry.counter("orders_total", help: "Orders.").exemplarsFromTrace(.init(interval: .zero))
            let span = tracer.startSpan("checkout")
            let expected = try #require(TraceExemplar.labels(of: span.context))
            ServiceContext.withValue(span.context) { orders.increment() }
            span.end()
            let found = try #require(exemplar(of: "orders_total ", in: registry))
            #expect(found.labels == expected)
            #expect(found.labels["trace_id"]?.count == 32)
            #expect(found.labels["span_id"]?.count == 16)
            #expect(orders.series.value == 1)
        }
    }

    @Test func aHistogramObservationInsideANestedSpanCarriesTheChildSpan() throws {
        try withTracer(testTracer) {
            let tracer = testTracer
            let registry = MetricRegistry()
            let latency = try registry.histogram("work_seconds", help: "Work.", labelNames: ["step"], buckets: [0.1, 1])
                .exemplarsFromTrace(.init(interval: .zero))
            let parent = tracer.startSpan("request")
            let child = tracer.startSpan("step", context: parent.context)
            ServiceContext.withValue(child.context) { latency.labels("parse").observe(0.5) }
            let found = try #require(exemplar(of: "work_seconds_bucket{step=\"parse\",le=\"1.0\"}", in: registry))
            let parentIDs = try #require(TraceExemplar.labels(of: parent.context))
            #expect(found.labels == TraceExemplar.labels(of: child.context))
            #expect(found.labels["trace_id"] == parentIDs["trace_id"])
            #expect(found.labels["span_id"] != parentIDs["span_id"])
        }
    }

    @Test func outsideASpanOrInAnUnsampledTraceNothingIsAttached() throws {
        try withTracer(testTracer) {
            let tracer = testTracer
            let registry = MetricRegistry()
            let orders = try registry.counter("orders_total", help: "Orders.").exemplarsFromTrace(.init(interval: .zero))
            orders.increment()
            var unsampled = ServiceContext.topLevel
            TraceparentTracer().extract(
                ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"], into: &unsampled,
                using: DictionaryExtractor())
            let span = tracer.startSpan("unsampled", context: unsampled)
            ServiceContext.withValue(span.context) { orders.increment() }
            #expect(orders.series.value == 2)
            #expect(exemplar(of: "orders_total ", in: registry) == nil)
            // The same trace, sampled: now it is attached, with the incoming trace id.
            var sampled = ServiceContext.topLevel
            TraceparentTracer().extract(
                ["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"], into: &sampled,
                using: DictionaryExtractor())
            ServiceContext.withValue(tracer.startSpan("sampled", context: sampled).context) { orders.increment() }
            #expect(exemplar(of: "orders_total ", in: registry)?.labels["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        }
    }

    @Test func oneAttemptPerSeriesPerInterval() throws {
        try withTracer(testTracer) {
            let tracer = testTracer
            let registry = MetricRegistry()
            let orders = try registry.counter("orders_total", help: "Orders.").exemplarsFromTrace(.init(interval: .seconds(3600)))
            let first = tracer.startSpan("first")
            ServiceContext.withValue(first.context) { orders.increment() }
            let second = tracer.startSpan("second")
            ServiceContext.withValue(second.context) { orders.increment() }
            // The second call falls inside the interval: the first span's exemplar stays.
            #expect(exemplar(of: "orders_total ", in: registry)?.labels == TraceExemplar.labels(of: first.context))
            #expect(orders.series.value == 2)
            // Another series has its own budget.
            let other = try registry.counter("other_total", help: "Other.").exemplarsFromTrace(.init(interval: .seconds(3600)))
            ServiceContext.withValue(second.context) { other.increment() }
            #expect(exemplar(of: "other_total ", in: registry)?.labels == TraceExemplar.labels(of: second.context))
        }
    }

    @Test func theStrictOpenMetricsParserReadsTheTraceExemplars() throws {
        try withTracer(testTracer) {
            let registry = MetricRegistry()
            let orders = try registry.counter("orders_total", help: "Orders.", labelNames: ["kind"])
                .exemplarsFromTrace(.init(interval: .zero))
            let latency = try registry.histogram("work_seconds", help: "Work.", buckets: [0.1, 1])
                .exemplarsFromTrace(.init(interval: .zero))
            let span = testTracer.startSpan("request")
            ServiceContext.withValue(span.context) {
                orders.labels("book").increment(by: 2)
                latency.observe(0.05)
            }
            let expected = try #require(TraceExemplar.labels(of: span.context))
            let families = try #require(try Conformance.parse("parse_openmetrics.py", registry.render(.openMetrics)))
            var exemplars: [String: [String: String]] = [:]
            for family in families {
                for sample in family["samples"] as! [[String: Any]] {
                    if let exemplar = sample["exemplar"] as? [String: Any] {
                        exemplars[sample["name"] as! String] = exemplar["labels"] as? [String: String]
                    }
                }
            }
            #expect(exemplars == ["orders_total": expected, "work_seconds_bucket": expected])
        }
    }

    @Test func traceparentIsReadFromAnyTracerThatInjectsIt() throws {
        try withTracer(testTracer) {
            // A context the tracer extracted from an incoming request: a span started from it is
            // a child in the same trace, and its traceparent parses.
            var incoming = ServiceContext.topLevel
            testTracer.extract(
                ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], into: &incoming,
                using: DictionaryExtractor())
            #expect(
                TraceExemplar.labels(of: incoming)
                    == ["trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"])
            var carrier: [String: String] = [:]
            testTracer.inject(incoming, into: &carrier, using: DictionaryInjector())
            #expect(carrier["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            #expect(TraceExemplar.current() == nil)
        }
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
