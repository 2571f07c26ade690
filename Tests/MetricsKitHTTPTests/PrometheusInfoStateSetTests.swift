import Foundation
import MetricsKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real Prometheus (Debian's 2.42) scrapes a registry with an info and a state set in
/// OpenMetrics (what it asks for first) and must store them: their samples queryable, their
/// families' types in its metadata API.
@Suite("Prometheus end to end: info and stateset")
struct PrometheusInfoStateSetTests {
    @Test(.timeLimit(.minutes(2)))
    func prometheusStoresInfoAndStateSetSamplesAndTypes() throws {
        let server = try TestServer()
        try server.registry.info("e2e_build_info", help: "The build.", labels: ["version": "9.9.9", "revision": "abc"])
        let phase = try server.registry.stateSet("e2e_phase", help: "The phase.", states: ["idle", "busy", "done"])
        phase.set("busy")
        guard let prometheus = try PrometheusProcess(scraping: server.port, flags: []) else {
            Issue.record("prometheus not found: install Debian's prometheus package (apt-get install -y prometheus), or run `make test`")
            return
        }
        var metadata: [String: Any] = [:]
        try waitFor("Prometheus stored the info and the state set", within: .seconds(60)) {
            usleep(200_000)
            metadata = ((try? prometheus.query("/api/v1/metadata"))?["data"] as? [String: Any]) ?? [:]
            return prometheus.targetIsUp && (try? prometheus.value(#"e2e_phase{e2e_phase="busy"}"#)) != nil
                && metadata["e2e_build"] != nil && metadata["e2e_phase"] != nil
        }
        let info = try #require(try prometheus.instant("e2e_build_info").first)
        let labels = info["metric"] as? [String: String] ?? [:]
        #expect(labels["version"] == "9.9.9" && labels["revision"] == "abc")
        #expect((info["value"] as? [Any])?.last as? String == "1")
        #expect(try prometheus.value(#"e2e_phase{e2e_phase="busy"}"#) == 1)
        #expect(try prometheus.value(#"e2e_phase{e2e_phase="idle"}"#) == 0)
        #expect(try prometheus.value(#"e2e_phase{e2e_phase="done"}"#) == 0)
        func type(_ family: String) -> String? {
            ((metadata[family] as? [[String: Any]])?.first)?["type"] as? String
        }
        #expect(type("e2e_build") == "info", "\(metadata)")
        #expect(type("e2e_phase") == "stateset", "\(metadata)")
    }
}
