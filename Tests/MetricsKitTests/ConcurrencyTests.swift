import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import MetricsKit

@Suite("Concurrency")
struct ConcurrencyTests {
    static let threads = 8
    static let perThread = 100_000

    @Test func countersAreExactUnderContention() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("c_total", help: "C.")
        let fractional = try registry.counter("f_total", help: "F.")
        let family = try registry.counter("l_total", help: "L.", labelNames: ["t"])
        DispatchQueue.concurrentPerform(iterations: Self.threads) { t in
            let own = family.labels("\(t % 2)")
            for _ in 0..<Self.perThread {
                counter.increment()
                fractional.increment(by: 0.5)
                own.increment()
            }
        }
        let total = Double(Self.threads * Self.perThread)
        #expect(counter.value == total)
        #expect(fractional.value == total / 2)
        #expect(family.labels("0").value + family.labels("1").value == total)
    }

    @Test func gaugesAreExactUnderContention() throws {
        let gauge = try MetricRegistry().gauge("g", help: "G.")
        DispatchQueue.concurrentPerform(iterations: Self.threads) { t in
            for _ in 0..<Self.perThread {
                if t % 2 == 0 { gauge.increment(by: 2) } else { gauge.decrement() }
            }
        }
        #expect(gauge.value == Double(Self.threads / 2 * Self.perThread))
    }

    @Test func concurrentGetOrCreateYieldsOneSeriesPerLabelSet() throws {
        let family = try MetricRegistry().counter("r_total", help: "R.", labelNames: ["k"])
        DispatchQueue.concurrentPerform(iterations: Self.threads) { _ in
            for i in 0..<2_000 { family.labels("k\(i % 500)").increment() }
        }
        #expect(family.seriesCount == 500)
        for i in 0..<500 { #expect(family.labels("k\(i)").value == Double(Self.threads * 4)) }
    }

    @Test func histogramTotalsAreExactUnderContention() throws {
        let histogram = try MetricRegistry().histogram("h_seconds", help: "H.", buckets: [1, 2, 3])
        DispatchQueue.concurrentPerform(iterations: Self.threads) { t in
            for i in 0..<Self.perThread { histogram.observe(Double((t + i) % 4) + 0.5) }
        }
        let snapshot = histogram.snapshot()
        let n = UInt64(Self.threads * Self.perThread)
        #expect(snapshot.count == n)
        #expect(snapshot.buckets.map(\.count) == [n / 4, n / 2, 3 * n / 4, n])
        #expect(snapshot.sum == Double(n) / 4 * (0.5 + 1.5 + 2.5 + 3.5))
    }

    /// Observers record only the value 1, so in any consistent scrape `_sum == _count == +Inf`
    /// bucket, buckets are non-decreasing, and no scrape goes backwards.
    @Test func everyScrapeIsConsistentWhileOthersObserve() throws {
        let registry = MetricRegistry()
        let histogram = try registry.histogram("h_seconds", help: "H.", buckets: [0.5, 1, 2])
        let running = Atomic<Bool>(true)
        let scrapes = 3_000
        let failures = Mutex<[String]>([])
        let observers = (0..<2).map { _ in
            Self.startThread {
                while running.load(ordering: .relaxed) {
                    for _ in 0..<64 { histogram.observe(1) }
                }
            }
        }
        while histogram.snapshot().count == 0 { sched_yield() }
        var buffer: [UInt8] = []
        var lastCount = 0.0
        for _ in 0..<scrapes {
            buffer.removeAll(keepingCapacity: true)
            registry.render(into: &buffer)
            let values = Self.samples(String(decoding: buffer, as: UTF8.self))
            let buckets = ["0.5", "1", "2", "+Inf"].map { values["h_seconds_bucket{le=\"\($0)\"}"] ?? -1 }
            let count = values["h_seconds_count"] ?? -1
            let sum = values["h_seconds_sum"] ?? -1
            let consistent =
                buckets[0] == 0 && buckets[1] == count && buckets[2] == count && buckets[3] == count
                && sum == count && count >= lastCount
            if !consistent { failures.withLock { $0.append("\(buckets) sum \(sum) count \(count)") } }
            lastCount = count
        }
        running.store(false, ordering: .relaxed)
        for observer in observers { observer.wait() }
        let found = failures.withLock { $0 }
        #expect(found.count == 0, "inconsistent scrapes, first ones: \(found.prefix(5))")
        let final = histogram.snapshot()
        #expect(final.sum == Double(final.count))
        #expect(final.count > 0)
    }

    /// One thread creates k0..k2999 (each incremented once), one removes every odd one (each
    /// as soon as it exists), one scrapes. Every scrape lists each series at most once with
    /// value 0 or 1, and the end state is exactly the even series.
    @Test func scrapesWhileSeriesAreCreatedAndRemoved() throws {
        let registry = MetricRegistry()
        let family = try registry.counter("r_total", help: "R.", labelNames: ["k"], seriesLimit: 100_000)
        let n = 3_000
        let failures = Mutex<[String]>([])
        let creator = Self.startThread {
            for i in 0..<n { family.labels("k\(i)").increment() }
        }
        let remover = Self.startThread {
            let deadline = ContinuousClock.now + .seconds(30)
            for i in stride(from: 1, to: n, by: 2) {
                while !family.remove("k\(i)") && ContinuousClock.now < deadline { sched_yield() }
            }
        }
        let scraper = Self.startThread {
            for _ in 0..<300 {
                let lines = registry.render().split(separator: "\n").filter { $0.hasPrefix("r_total{") }
                let keys = lines.map { $0.split(separator: " ")[0] }
                if Set(keys).count != keys.count { failures.withLock { $0.append("a series listed twice") } }
                if let bad = lines.first(where: { !$0.hasSuffix(" 0") && !$0.hasSuffix(" 1") }) {
                    failures.withLock { $0.append("\(bad)") }
                }
            }
        }
        for thread in [creator, remover, scraper] { thread.wait() }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
        #expect(family.seriesCount == n / 2)
        let values = Self.samples(registry.render()).filter { $0.key.hasPrefix("r_total{") }
        #expect(Set(values.keys) == Set(stride(from: 0, to: n, by: 2).map { "r_total{k=\"k\($0)\"}" }))
        #expect(values.values.allSatisfy { $0 == 1 })
    }

    /// Runs `body` on a new thread (not the Dispatch pool, which may run work items one after
    /// another); `wait()` on the result joins it.
    static func startThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        return done
    }

    static func samples(_ text: String) -> [String: Double] { parseSamples(text) }
}
