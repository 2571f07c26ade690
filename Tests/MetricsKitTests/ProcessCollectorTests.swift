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
        // Other tests run in parallel and open files too (the HTTP tests open and close hundreds
        // of sockets), hence a margin and a few attempts: one calm attempt shows the count.
        var seen: [Int] = []
        for _ in 0..<5 {
            let before = try #require(ProcStat.openFileDescriptors())
            let fds = (0..<64).map { _ in open("/proc/self/stat", O_RDONLY) }
            let after = try #require(ProcStat.openFileDescriptors())
            fds.forEach { close($0) }
            seen.append(after - before)
            if (56...72).contains(after - before) { break }
        }
        #expect(seen.contains { (56...72).contains($0) }, "opened 64, the count moved by \(seen)")
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
