import Foundation
import TestSupport
import Testing

@testable import MetricsKit

/// Info and StateSet: OpenMetrics' own types, gauges in text 0.0.4 and protobuf, each format
/// checked by a parser MetricsKit did not write.
@Suite("Info and StateSet")
struct InfoStateSetTests {
    /// A build info, an unlabeled state set used as an enum, and a labeled one used as flags.
    static func registry() throws -> MetricRegistry {
        let registry = MetricRegistry()
        try registry.info("app_build_info", help: "The running build.", labels: ["version": "1.2.0", "revision": "9f2c\"e"])
        let phase = try registry.stateSet("job_phase", help: "The job's phase.", states: ["starting", "copying", "done"])
        phase.set("copying")
        let features = try registry.stateSet(
            "feature_flags", help: "Feature flags.", states: ["beta", "dark_mode"], labelNames: ["tenant"])
        features.labels("acme").set("dark_mode", to: true)
        features.labels("globex").set("beta", to: true)
        features.labels("globex").set("dark_mode", to: true)
        features.labels("globex").set("beta", to: false)
        return registry
    }

    @Test func openMetricsTypesThemInfoAndStateset() throws {
        let text = try Self.registry().render(.openMetrics)
        #expect(text.contains("""
            # TYPE app_build info
            # HELP app_build The running build.
            app_build_info{revision="9f2c\\"e",version="1.2.0"} 1

            """))
        #expect(text.contains("""
            # TYPE job_phase stateset
            # HELP job_phase The job's phase.
            job_phase{job_phase="starting"} 0
            job_phase{job_phase="copying"} 1
            job_phase{job_phase="done"} 0

            """))
        #expect(text.contains("""
            # TYPE feature_flags stateset
            # HELP feature_flags Feature flags.
            feature_flags{tenant="acme",feature_flags="beta"} 0
            feature_flags{tenant="acme",feature_flags="dark_mode"} 1
            feature_flags{tenant="globex",feature_flags="beta"} 0
            feature_flags{tenant="globex",feature_flags="dark_mode"} 1

            """))
        #expect(!text.contains("_created"))
    }

    @Test func theStrictOpenMetricsParserReadsTheTypesAndValues() throws {
        let text = try Self.registry().render(.openMetrics)
        guard let families = try ConformanceTests.parse("parse_openmetrics.py", text) else { return }
        let byName = Dictionary(uniqueKeysWithValues: families.map { ($0["name"] as! String, $0) })
        #expect(byName["app_build"]?["type"] as? String == "info")
        #expect(byName["job_phase"]?["type"] as? String == "stateset")
        #expect(byName["feature_flags"]?["type"] as? String == "stateset")
        let info = try #require((byName["app_build"]?["samples"] as? [[String: Any]])?.first)
        #expect(info["name"] as? String == "app_build_info")
        #expect(info["labels"] as? [String: String] == ["version": "1.2.0", "revision": "9f2c\"e"])
        #expect(info["value"] as? String == "1.0")
        let phases = try #require(byName["job_phase"]?["samples"] as? [[String: Any]])
        #expect(phases.map { ($0["labels"] as? [String: String])?["job_phase"] ?? "" } == ["starting", "copying", "done"])
        #expect(phases.map { $0["value"] as? String ?? "" } == ["0.0", "1.0", "0.0"])
    }

    @Test func theStrictParserRefusesWhatItShould() throws {
        // The check above can fail: the parser refuses a stateset sample without its state
        // label and an info sample valued other than 1.
        guard let python = TestTools.venvPython else {
            Issue.record(".venv/bin/python not found: run `make test`")
            return
        }
        let script = repositoryRoot.appendingPathComponent("Tests/conformance/parse_openmetrics.py").path
        for broken in [
            "# TYPE s stateset\ns{a=\"x\"} 1\n# EOF\n", "# TYPE b info\nb_info{v=\"1\"} 2\n# EOF\n",
        ] {
            let (status, _) = try TestTools.run(python, [script], input: broken)
            #expect(status != 0, "accepted: \(broken)")
        }
    }

    @Test func textFormatHasThemAsGaugesAndPromtoolAgrees() throws {
        let text = try Self.registry().render()
        #expect(text.contains("# TYPE app_build_info gauge\napp_build_info{revision=\"9f2c\\\"e\",version=\"1.2.0\"} 1\n"))
        #expect(text.contains("# TYPE job_phase gauge\njob_phase{job_phase=\"starting\"} 0\njob_phase{job_phase=\"copying\"} 1\n"))
        guard let promtool = TestTools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`")
            return
        }
        let (status, output) = try TestTools.run(promtool, ["check", "metrics"], input: text)
        #expect(status == 0 && output.isEmpty, "promtool check metrics:\n\(output)\n--- body ---\n\(text)")
        guard let families = try ConformanceTests.parse("parse_text.py", text) else { return }
        let types = Dictionary(uniqueKeysWithValues: families.map { ($0["name"] as! String, $0["type"] as? String) })
        #expect(types["app_build_info"] == "gauge")
        #expect(types["job_phase"] == "gauge")
        #expect(types["feature_flags"] == "gauge")
    }

    @Test func protobufHasThemAsGauges() throws {
        var body: [UInt8] = []
        try Self.registry().render(.protobuf, into: &body)
        guard let families = try ProtobufTests.decode(body) else { return }
        let byName = Dictionary(uniqueKeysWithValues: families.map { ($0["name"] as! String, $0) })
        #expect(byName["app_build_info"]?["type"] as? String == "GAUGE")
        let info = try #require((byName["app_build_info"]?["metric"] as? [[String: Any]])?.first)
        #expect((info["gauge"] as? [String: Any])?["value"] as? Double == 1)
        let labels = (info["label"] as? [[String: Any]])?.map { "\($0["name"]!)=\($0["value"]!)" }
        #expect(labels == ["revision=9f2c\"e", "version=1.2.0"])
        #expect(byName["feature_flags"]?["type"] as? String == "GAUGE")
        let flags = try #require(byName["feature_flags"]?["metric"] as? [[String: Any]])
        let rendered = flags.map { metric in
            let pairs = (metric["label"] as? [[String: Any]] ?? []).map { "\($0["name"]!)=\($0["value"]!)" }
            return pairs.joined(separator: ",") + " \((metric["gauge"] as? [String: Any])?["value"] as? Double ?? -1)"
        }
        #expect(rendered == [
            "tenant=acme,feature_flags=beta 0.0", "tenant=acme,feature_flags=dark_mode 1.0",
            "tenant=globex,feature_flags=beta 0.0", "tenant=globex,feature_flags=dark_mode 1.0",
        ])
    }

    @Test func stateUpdates() throws {
        let registry = MetricRegistry()
        let breaker = try registry.stateSet("breaker", help: "Breaker.", states: ["closed", "half_open", "open"])
        #expect(breaker.enabledStates == [])
        breaker.set("open")
        #expect(breaker.enabledStates == ["open"])
        breaker.set("closed", to: true)
        #expect(breaker.enabledStates == ["closed", "open"])
        breaker.set("open", to: false)
        #expect(breaker.isSet("closed") && !breaker.isSet("open"))
        breaker.set("melted")  // not a state: refused, counted, nothing changes
        breaker.set("melted", to: true)
        #expect(breaker.enabledStates == ["closed"])
        #expect(registry.rejectedUpdates(of: "breaker") == 2)
        // Registering the same definition again returns the same state set.
        #expect(try registry.stateSet("breaker", help: "Breaker.", states: ["closed", "half_open", "open"]) === breaker)
    }

    @Test func registrationMistakesThrowTypedErrorsNamingTheMetric() throws {
        let registry = MetricRegistry()
        func error(_ body: () throws(MetricsKitError) -> Void) -> MetricsKitError? {
            do {
                try body()
                return nil
            } catch { return error }
        }
        let noSuffix = error { () throws(MetricsKitError) in try registry.info("app_build", help: "x", labels: [:]) }
        #expect(noSuffix?.kind == .invalidMetricName && noSuffix?.metric == "app_build")
        let badLabel = error { () throws(MetricsKitError) in try registry.info("a_info", help: "x", labels: ["1x": "y"]) }
        #expect(badLabel?.kind == .invalidLabelName)
        try registry.info("b_info", help: "x", labels: ["v": "1"])
        try registry.info("b_info", help: "x", labels: ["v": "1"])  // the same again: fine
        let other = error { () throws(MetricsKitError) in try registry.info("b_info", help: "x", labels: ["v": "2"]) }
        #expect(other?.kind == .conflictingRegistration && other?.metric == "b_info")
        // The info claims its OpenMetrics family name too.
        let family = error { () throws(MetricsKitError) in _ = try registry.gauge("b", help: "x") }
        #expect(family?.kind == .conflictingRegistration)

        let colon = error { () throws(MetricsKitError) in _ = try registry.stateSet("a:b", help: "x", states: ["s"]) }
        #expect(colon?.kind == .invalidMetricName && colon?.metric == "a:b")
        let none = error { () throws(MetricsKitError) in _ = try registry.stateSet("s", help: "x", states: []) }
        #expect(none?.kind == .invalidParameter)
        let many = error { () throws(MetricsKitError) in
            _ = try registry.stateSet("s", help: "x", states: (0...64).map { "s\($0)" })
        }
        #expect(many?.kind == .invalidParameter)
        let twice = error { () throws(MetricsKitError) in _ = try registry.stateSet("s", help: "x", states: ["a", "a"]) }
        #expect(twice?.description == #"metric "s": state "a" is listed twice"#)
        let empty = error { () throws(MetricsKitError) in _ = try registry.stateSet("s", help: "x", states: ["a", ""]) }
        #expect(empty?.kind == .invalidParameter)
        let clash = error { () throws(MetricsKitError) in
            _ = try registry.stateSet("s", help: "x", states: ["a"], labelNames: ["s"])
        }
        #expect(clash?.kind == .reservedLabelName)
        _ = try registry.stateSet("t", help: "x", states: ["a", "b"])
        let changed = error { () throws(MetricsKitError) in _ = try registry.stateSet("t", help: "x", states: ["a", "c"]) }
        #expect(changed?.kind == .conflictingRegistration)
        #expect(changed?.reason.contains("states") == true)
    }
}
