import Foundation
import TestSupport
import Testing

@testable import MetricsKit

/// Renders a corpus covering every type, odd label values and special floats, and checks it
/// with parsers MetricsKit did not write: `promtool check metrics` (Prometheus) and
/// `prometheus_client`'s text parser (Python). The parsed names, label values and numbers must
/// equal what the test recorded. A missing tool fails the test with how to install it.
@Suite("Conformance with independent parsers")
struct ConformanceTests {
    struct Sample: Equatable, CustomStringConvertible {
        var name: String
        var labels: [String: String]
        var value: Double

        static func == (a: Sample, b: Sample) -> Bool {
            a.name == b.name && a.labels == b.labels
                && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
        }
        var description: String { "\(name)\(labels.sorted { $0.key < $1.key }) \(value)" }
    }

    /// Records into a registry and, independently, into the list of samples a parser must see.
    struct Corpus {
        let registry = MetricRegistry()
        var expected: [Sample] = []
        var help: [String: String] = [:]
        /// "<sample name>|<le>" -> the exemplar OpenMetrics must show there.
        var expectedExemplars: [String: (value: Double, labels: [String: String])] = [:]

        init() throws {
            let oddValues = ["/", "a\"b", "c\\d", "e\nf", "🚀 émoji", "", "tab\there", "\\n literal"]
            let requestsHelp = "Requests with \"quotes\", back\\slash and\nnewline."
            let requests = try registry.counter(
                "corpus_requests_total", help: requestsHelp, labelNames: ["method", "path"])
            help["corpus_requests"] = requestsHelp
            for (i, path) in oddValues.enumerated() {
                let amounts: [Double] = [1, 2.5, 1e6, 0.1, 3, 7, 0.25, 1e-3]
                requests.labels("GET", path).increment(by: amounts[i])
                expected.append(Sample(name: "corpus_requests_total", labels: ["method": "GET", "path": path],
                                       value: amounts[i]))
            }

            let gauge = try registry.gauge("corpus_reading", help: "Special and ordinary floats.", labelNames: ["case"])
            help["corpus_reading"] = "Special and ordinary floats."
            let readings: [(String, Double)] = [
                ("nan", .nan), ("pos_inf", .infinity), ("neg_inf", -.infinity), ("tiny", 1e-300), ("huge", 1.5e300),
                ("tenth", 0.1), ("negative", -2.5), ("zero", 0), ("third", 1.0 / 3), ("big_int", 9_007_199_254_740_994),
                ("subnormal", .leastNonzeroMagnitude), ("million_half", 1234567.5),
            ]
            for (name, value) in readings {
                gauge.labels(name).set(value)
                expected.append(Sample(name: "corpus_reading", labels: ["case": name], value: value))
            }

            let errors = try registry.counter("corpus_errors_total", help: "Errors.", constLabels: ["app": "corpus"])
            help["corpus_errors"] = "Errors."
            errors.increment(by: 1, exemplar: ["trace_id": "odd \"quoted\" \\ value\n🚀"])
            expectedExemplars["corpus_errors_total|"] = (1, ["trace_id": "odd \"quoted\" \\ value\n🚀"])
            errors.increment(by: -5)  // refused and counted
            expected.append(Sample(name: "corpus_errors_total", labels: ["app": "corpus"], value: 1))
            expected.append(Sample(name: "metricskit_rejected_updates_total",
                                   labels: ["metric": "corpus_errors_total", "reason": "invalid_value"], value: 1))

            let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
            let latency = try registry.histogram(
                "corpus_latency_seconds", help: "Latency.", labelNames: ["route"], buckets: bounds,
                constLabels: ["svc": "x"])
            help["corpus_latency_seconds"] = "Latency."
            let observations: [String: [Double]] = [
                // Binary fractions, so the sum is exact in any order (stripes add up separately).
                "/": [0.25, 0.00390625, 7, 0.125, 12, 0.3330078125],
                "/odd\"route\n": [0.5, 0.5],
                "/never": [],
            ]
            for (route, values) in observations {
                let series = latency.labels(route)
                values.forEach(series.observe)
                if route == "/" {
                    // The latest exemplar per bucket is what OpenMetrics shows.
                    series.observe(0.0625, exemplar: ["trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"])
                    expectedExemplars["corpus_latency_seconds_bucket|0.1"] = (0.0625, ["trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"])
                }
                let values = route == "/" ? values + [0.0625] : values
                var cumulative = 0.0
                for bound in bounds + [.infinity] {
                    cumulative = Double(values.filter { $0 <= bound }.count)
                    expected.append(Sample(
                        name: "corpus_latency_seconds_bucket",
                        labels: ["route": route, "svc": "x", "le": Self.goBound(bound)], value: cumulative))
                }
                expected.append(Sample(name: "corpus_latency_seconds_sum", labels: ["route": route, "svc": "x"],
                                       value: values.reduce(0, +)))
                expected.append(Sample(name: "corpus_latency_seconds_count", labels: ["route": route, "svc": "x"],
                                       value: Double(values.count)))
            }

            let plain = try registry.histogram("corpus_job_seconds", help: "Jobs.", buckets: [1])
            help["corpus_job_seconds"] = "Jobs."
            plain.observe(Duration.milliseconds(1500))
            expected += [
                Sample(name: "corpus_job_seconds_bucket", labels: ["le": "1"], value: 0),
                Sample(name: "corpus_job_seconds_bucket", labels: ["le": "+Inf"], value: 1),
                Sample(name: "corpus_job_seconds_sum", labels: [:], value: 1.5),
                Sample(name: "corpus_job_seconds_count", labels: [:], value: 1),
            ]

            _ = try registry.histogram("corpus_unused_seconds", help: "No series yet.", labelNames: ["route"])
            _ = try registry.counter("corpus_unused_total", help: "No series yet.", labelNames: ["kind"])
            help["corpus_unused_seconds"] = "No series yet."
            help["corpus_unused"] = "No series yet."

            try registry.gauge("corpus_queue_depth", help: "From a callback.") { 17 }
            help["corpus_queue_depth"] = "From a callback."
            expected.append(Sample(name: "corpus_queue_depth", labels: [:], value: 17))
        }

        /// How a parser sees a bound: `le` values as written by Go's %g (1 not 1.0).
        static func goBound(_ bound: Double) -> String {
            if bound.isInfinite { return "+Inf" }
            return String(decoding: ByteSink.bytes { TextWriter.append(bound, to: &$0) }, as: UTF8.self)
        }
    }

    /// Runs one of the Python parsers in Tests/conformance on `text` (see `Conformance.parse`).
    static func parse(_ script: String, _ text: String) throws -> [[String: Any]]? {
        try Conformance.parse(script, text)
    }

    @Test func promtoolAcceptsTheCorpusWithoutLintProblems() throws {
        let corpus = try Corpus()
        guard let promtool = TestTools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`, which installs it")
            return
        }
        let text = corpus.registry.render()
        let (status, output) = try TestTools.run(promtool, ["check", "metrics"], input: text)
        #expect(status == 0, "promtool check metrics failed:\n\(output)\n--- body ---\n\(text)")
        #expect(output.isEmpty, "promtool reported:\n\(output)")
    }

    @Test func promtoolRejectsABrokenBody() throws {
        // The check above can fail: promtool does reject malformed text.
        guard let promtool = TestTools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)")
            return
        }
        let (status, _) = try TestTools.run(promtool, ["check", "metrics"], input: "# TYPE x_total counter\nx_total{a=\"1} 1\n")
        #expect(status != 0)
    }

    @Test func pythonPrometheusClientParsesTheCorpusToTheRecordedValues() throws {
        let corpus = try Corpus()
        guard let families = try Self.parse("parse_text.py", corpus.registry.render()) else { return }

        var parsed: [Sample] = []
        var parsedHelp: [String: String] = [:]
        for family in families {
            parsedHelp[family["name"] as! String] = family["help"] as? String
            for sample in family["samples"] as! [[String: Any]] {
                parsed.append(Sample(
                    name: sample["name"] as! String, labels: sample["labels"] as! [String: String],
                    value: Double(sample["value"] as! String)!))
            }
        }
        let key = { (s: Sample) in s.description }
        let expected = corpus.expected.sorted { key($0) < key($1) }
        parsed.sort { key($0) < key($1) }
        #expect(parsed.count == expected.count)
        for (got, want) in zip(parsed, expected) { #expect(got == want) }
        for (name, help) in corpus.help { #expect(parsedHelp[name] == help, "help of \(name)") }
        #expect(parsedHelp["metricskit_rejected_updates"] != nil)
    }

    @Test func pythonOpenMetricsParserAcceptsTheCorpusWithEqualValuesAndExemplars() throws {
        let corpus = try Corpus()
        let text = corpus.registry.render(.openMetrics)
        #expect(text.hasSuffix("\n# EOF\n"))
        guard let families = try Self.parse("parse_openmetrics.py", text) else { return }

        var parsed: [Sample] = []
        var created: Set<String> = []
        var exemplars: [String: (value: Double, labels: [String: String])] = [:]
        for family in families {
            for sample in family["samples"] as! [[String: Any]] {
                let name = sample["name"] as! String
                var labels = sample["labels"] as! [String: String]
                if name.hasSuffix("_created") {
                    created.insert(name)
                    continue
                }
                // OpenMetrics writes bounds canonically (1.0); the corpus expects Go's %g (1).
                if let le = labels["le"], let bound = Double(le), bound.isFinite { labels["le"] = Corpus.goBound(bound) }
                parsed.append(Sample(name: name, labels: labels, value: Double(sample["value"] as! String)!))
                if let exemplar = sample["exemplar"] as? [String: Any] {
                    exemplars["\(name)|\(labels["le"] ?? "")"] = (
                        Double(exemplar["value"] as! String)!, exemplar["labels"] as! [String: String]
                    )
                    #expect((exemplar["timestamp"] as? String).flatMap(Double.init) ?? 0 > 1_600_000_000)
                }
            }
        }
        let key = { (s: Sample) in s.description }
        let expected = corpus.expected.sorted { key($0) < key($1) }
        parsed.sort { key($0) < key($1) }
        #expect(parsed.count == expected.count)
        for (got, want) in zip(parsed, expected) { #expect(got == want) }
        #expect(created.contains("corpus_requests_created") && created.contains("corpus_latency_seconds_created"))
        #expect(exemplars.count == corpus.expectedExemplars.count)
        for (place, want) in corpus.expectedExemplars {
            #expect(exemplars[place]?.value == want.value, "exemplar at \(place)")
            #expect(exemplars[place]?.labels == want.labels, "exemplar at \(place)")
        }
    }
}
