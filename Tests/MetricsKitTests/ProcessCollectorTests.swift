import Foundation
import TestSupport
import Testing

@testable import MetricsKit

@Suite("Process metrics")
struct ProcessCollectorTests {
    @Test func readsPlausibleValuesFromProc() throws {
        let registry = MetricRegistry()
        try registry.register(ProcessCollector())
        let values = ConcurrencyTests.samples(registry.render())
        let now = Date().timeIntervalSince1970
        let start = try #require(values["process_start_time_seconds"])
        #expect(start > now - 24 * 3600 && start <= now + 1)
        #expect(try #require(values["process_resident_memory_bytes"]) > 1_000_000)
        #expect(try #require(values["process_virtual_memory_bytes"]) >= values["process_resident_memory_bytes"]!)
        #expect(try #require(values["process_cpu_seconds_total"]) >= 0)
        let open = try #require(values["process_open_fds"])
        #expect(open >= 3)
        #expect(try #require(values["process_max_fds"]) >= open)
    }

    @Test func openFileDescriptorsFollowOpenFiles() throws {
        // Other tests run in parallel and open files too, hence a margin.
        let before = try #require(ProcStat.openFileDescriptors())
        let fds = (0..<64).map { _ in open("/proc/self/stat", O_RDONLY) }
        defer { fds.forEach { close($0) } }
        let after = try #require(ProcStat.openFileDescriptors())
        #expect(after - before >= 56 && after - before <= 72, "\(before) -> \(after)")
    }

    @Test func namespacePrefixesEveryName() throws {
        let collector = ProcessCollector(namespace: "app")
        #expect(collector.familyNames.allSatisfy { $0.hasPrefix("app_process_") })
        #expect(collector.collect().map(\.name) .allSatisfy { $0.hasPrefix("app_process_") })
        #expect(collector.collect().count == 6)
    }

    @Test func promtoolAcceptsProcessMetrics() throws {
        let registry = MetricRegistry()
        try registry.register(ProcessCollector())
        guard let promtool = TestTools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (apt-get install -y prometheus)")
            return
        }
        let (status, output) = try TestTools.run(promtool, ["check", "metrics"], input: registry.render())
        #expect(status == 0 && output.isEmpty, "\(output)")
    }
}
