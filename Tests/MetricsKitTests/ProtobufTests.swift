import Foundation
import TestSupport
import Testing

@testable import MetricsKit

/// The protobuf exposition, decoded by a decoder MetricsKit did not write: Google's Python
/// protobuf runtime with classes protoc generates at test time from client_model's
/// metrics.proto (../shared/reference/client_model). Every field of every message is compared.
@Suite("Protobuf exposition")
struct ProtobufTests {
    @Test(arguments: [
        // Prometheus 2.42 with --enable-feature=native-histograms
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", ExpositionFormat.protobuf),
        // the same Prometheus without the flag
        ("application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .openMetrics),
        // later versions: protobuf with a q value
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .protobuf),
        // protobuf, but another message or encoding: not ours
        ("application/vnd.google.protobuf;proto=io.prometheus.client.Other;encoding=delimited,text/plain;q=0.5", .prometheusText),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", .prometheusText),
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.2,text/plain;version=0.0.4;q=0.5", .prometheusText),
    ])
    func negotiatesProtobufOnlyWhenAskedFor(accept: String, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected)
    }

    @Test func contentTypeIsTheDelimitedMetricFamilyStream() {
        #expect(
            ExpositionFormat.protobuf.contentType
                == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
    }

    /// Decodes a body with the Python decoder; nil (issue recorded) when a tool is missing.
    static func decode(_ body: [UInt8]) throws -> [[String: Any]]? {
        guard let python = TestTools.venvPython else {
            Issue.record(".venv/bin/python not found: run `make test` (make deps-python installs Tests/conformance/requirements.txt: prometheus-client, protobuf, grpcio-tools)")
            return nil
        }
        let proto = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/client_model/metrics.proto").path
        guard FileManager.default.fileExists(atPath: proto) else {
            Issue.record("\(proto) not found: the client_model schema belongs beside the repository (../shared/reference/client_model/metrics.proto)")
            return nil
        }
        let script = repositoryRoot.appendingPathComponent("Tests/conformance/decode_protobuf.py").path
        let (status, output) = try TestTools.run(python, [script, proto], input: body)
        let text = String(decoding: output, as: UTF8.self)
        try #require(status == 0, "decode_protobuf.py failed:\n\(text)")
        return try #require(JSONSerialization.jsonObject(with: Data(output)) as? [[String: Any]], "not JSON: \(text)")
    }

    /// A timestamp the test cannot know exactly: it must be a plausible current one.
    static let now = Expected.timestamp

    enum Expected {
        case timestamp
    }

    /// Compares a decoded value with the expected one, field by field, both ways (a field
    /// present on one side only is a difference).
    static func compare(_ got: Any?, _ want: Any, at path: String) {
        switch want {
        case Expected.timestamp:
            guard let got = got as? [String: Any], let seconds = (got["seconds"] as? NSNumber)?.doubleValue else {
                Issue.record("\(path): expected a timestamp, got \(String(describing: got))")
                return
            }
            let nanos = (got["nanos"] as? NSNumber)?.doubleValue ?? 0
            #expect(abs(seconds - Date().timeIntervalSince1970) < 600, "\(path): seconds \(seconds)")
            #expect(nanos >= 0 && nanos < 1e9, "\(path): nanos \(nanos)")
            #expect(Set(got.keys).isSubset(of: ["seconds", "nanos"]), "\(path): \(got.keys)")
        case let want as [String: Any]:
            guard let got = got as? [String: Any] else {
                Issue.record("\(path): expected a message, got \(String(describing: got))")
                return
            }
            #expect(Set(got.keys) == Set(want.keys), "\(path): fields \(got.keys.sorted()) != \(want.keys.sorted())")
            for (key, value) in want { compare(got[key], value, at: "\(path).\(key)") }
        case let want as [Any]:
            guard let got = got as? [Any], got.count == want.count else {
                Issue.record("\(path): expected \(want.count) elements, got \(String(describing: got))")
                return
            }
            for (i, (g, w)) in zip(got, want).enumerated() { compare(g, w, at: "\(path)[\(i)]") }
        case let want as String:
            #expect(got as? String == want, "\(path)")
        case let want as Double:
            #expect((got as? NSNumber)?.doubleValue == want, "\(path): \(String(describing: got)) != \(want)")
        case let want as Int:
            #expect((got as? NSNumber)?.doubleValue == Double(want), "\(path): \(String(describing: got)) != \(want)")
        default:
            Issue.record("\(path): cannot compare \(want)")
        }
    }

    struct UntypedCollector: Collector {
        var familyNames: [String] { ["pb_untyped"] }
        func collect() -> [CollectedFamily] {
            [CollectedFamily(name: "pb_untyped", help: "From a collector.", type: .untyped,
                             samples: [CollectedSample(labels: [("k", "v\"w")], value: 7)])]
        }
    }

    static func pair(_ name: String, _ value: String) -> [String: Any] { ["name": name, "value": value] }

    @Test func everyTypeDecodesFieldForField() throws {
        let registry = MetricRegistry()
        let requests = try registry.counter("pb_requests_total", help: "Requests \"quoted\"\nand more.", labelNames: ["method", "path"])
        let odd = "a\"b\\c\nd 🚀"
        requests.labels("GET", odd).increment(by: 3)
        requests.labels("POST", "/").increment(by: 2.5, exemplar: ["trace_id": "0af7651916cd43dd8448eb211c80319c"])
        requests.labels("PUT", "/").increment(by: -1)  // refused and counted
        let temperature = try registry.gauge("pb_temperature", help: "T.", labelNames: ["where"], constLabels: ["site": "x"])
        temperature.labels("in").set(-2.5)
        temperature.labels("out").set(.nan)
        try registry.gauge("pb_queue", help: "Q.") { 17 }
        try registry.register(UntypedCollector())
        let latency = try registry.histogram("pb_latency_seconds", help: "L.", labelNames: ["route"], buckets: [0.1, 1])
        let route = latency.labels("/")
        route.observe(0.0625)
        route.observe(0.5, exemplar: ["span_id": "b7ad6b7169203331"])
        route.observe(2, exemplar: ["span_id": "00f067aa0ba902b7"])

        var body: [UInt8] = []
        registry.render(.protobuf, into: &body)
        guard let families = try Self.decode(body) else { return }

        let exemplarOnInf: [String: Any] = [
            "label": [Self.pair("span_id", "00f067aa0ba902b7")], "value": 2.0, "timestamp": Self.now,
        ]
        let expected: [[String: Any]] = [
            [
                "name": "metricskit_rejected_updates_total",
                "help": "Updates MetricsKit refused: series over the family's limit, wrong label count, invalid values or exemplars.",
                "type": "COUNTER",
                "metric": [["label": [Self.pair("metric", "pb_requests_total"), Self.pair("reason", "invalid_value")],
                            "counter": ["value": 1.0]]],
            ],
            [
                "name": "pb_latency_seconds", "help": "L.", "type": "HISTOGRAM",
                "metric": [[
                    "label": [Self.pair("route", "/")],
                    "histogram": [
                        "sample_count": 3, "sample_sum": 2.5625, "created_timestamp": Self.now,
                        "bucket": [
                            ["cumulative_count": 1, "upper_bound": 0.1],
                            ["cumulative_count": 2, "upper_bound": 1.0,
                             "exemplar": ["label": [Self.pair("span_id", "b7ad6b7169203331")], "value": 0.5, "timestamp": Self.now]],
                            ["cumulative_count": 3, "upper_bound": "+Inf", "exemplar": exemplarOnInf],
                        ],
                    ],
                ]],
            ],
            [
                "name": "pb_queue", "help": "Q.", "type": "GAUGE", "metric": [["gauge": ["value": 17.0]]],
            ],
            [
                "name": "pb_requests_total", "help": "Requests \"quoted\"\nand more.", "type": "COUNTER",
                "metric": [
                    ["label": [Self.pair("method", "GET"), Self.pair("path", odd)],
                     "counter": ["value": 3.0, "created_timestamp": Self.now]],
                    ["label": [Self.pair("method", "POST"), Self.pair("path", "/")],
                     "counter": ["value": 2.5, "created_timestamp": Self.now,
                                 "exemplar": ["label": [Self.pair("trace_id", "0af7651916cd43dd8448eb211c80319c")],
                                              "value": 2.5, "timestamp": Self.now]]],
                    ["label": [Self.pair("method", "PUT"), Self.pair("path", "/")],
                     "counter": ["value": 0.0, "created_timestamp": Self.now]],
                ],
            ],
            [
                "name": "pb_temperature", "help": "T.", "type": "GAUGE",
                "metric": [
                    ["label": [Self.pair("site", "x"), Self.pair("where", "in")], "gauge": ["value": -2.5]],
                    ["label": [Self.pair("site", "x"), Self.pair("where", "out")], "gauge": ["value": "NaN"]],
                ],
            ],
            [
                "name": "pb_untyped", "help": "From a collector.", "type": "UNTYPED",
                "metric": [["label": [Self.pair("k", "v\"w")], "untyped": ["value": 7.0]]],
            ],
        ]
        Self.compare(families, expected, at: "families")
    }

    struct SuffixedCollector: Collector {
        var familyNames: [String] { ["pb_parts"] }
        func collect() -> [CollectedFamily] {
            [CollectedFamily(name: "pb_parts", help: "Parts.", type: .gauge, samples: [
                CollectedSample(value: 1),
                CollectedSample(suffix: "_sum", value: 2.5),
                CollectedSample(suffix: "_info", labels: [("k", "v")], value: 3),
            ])]
        }
    }

    @Test func collectedSamplesWithASuffixBecomeUntypedFamiliesOfTheirOwn() throws {
        // Protobuf has no place for `_sum` or `_info` in a gauge family: each such sample is
        // written after the family as an untyped family named with the suffix, same help.
        let registry = MetricRegistry()
        try registry.register(SuffixedCollector())
        var body: [UInt8] = []
        registry.render(.protobuf, into: &body)
        guard let families = try Self.decode(body) else { return }
        Self.compare(
            families,
            [
                ["name": "pb_parts", "help": "Parts.", "type": "GAUGE", "metric": [["gauge": ["value": 1.0]]]],
                ["name": "pb_parts_sum", "help": "Parts.", "type": "UNTYPED", "metric": [["untyped": ["value": 2.5]]]],
                ["name": "pb_parts_info", "help": "Parts.", "type": "UNTYPED",
                 "metric": [["label": [Self.pair("k", "v")], "untyped": ["value": 3.0]]]],
            ] as [Any],
            at: "families")
    }

    @Test func longMessagesGetMultiByteLengths() throws {
        // Help and label values over 127 and 16,383 bytes: lengths of two and three varint bytes.
        let registry = MetricRegistry()
        let help = String(repeating: "h", count: 20_000)
        let value = String(repeating: "v", count: 300)
        try registry.gauge("pb_long", help: help, labelNames: ["l"]).labels(value).set(1)
        var body: [UInt8] = []
        registry.render(.protobuf, into: &body)
        guard let families = try Self.decode(body) else { return }
        Self.compare(
            families,
            [["name": "pb_long", "help": help, "type": "GAUGE",
              "metric": [["label": [Self.pair("l", value)], "gauge": ["value": 1.0]]]]] as [Any],
            at: "families")
    }
}
