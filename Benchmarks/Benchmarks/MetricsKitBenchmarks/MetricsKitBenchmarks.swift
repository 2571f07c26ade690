// MetricsKit against swift-prometheus 2.4.1, the same workload for both in the same run.
//
// Names are "<workload>/<library>"; run.sh pairs them into one table. The inner loops run
// `scalingFactor` operations per measured iteration (the two-thread ones `twoThreadOps`), so a
// sample divided by that count is the time of one operation. Scripts/comparison_table.py
// reads the p50 and divides: its OPS table must match the counts used here.

import Benchmark
import Foundation  // Thread, DispatchSemaphore, pow
import MetricsKit
import Prometheus
import Synchronization

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    let mega = Benchmark.Configuration(scalingFactor: .mega)
    let kilo = Benchmark.Configuration(scalingFactor: .kilo)

    // MARK: 1. Unlabeled counter increment, and the floor: a bare relaxed atomic add.

    Benchmark("counter_increment/MetricsKit", configuration: mega) { benchmark in
        let counter = Fixtures.shared.mkCounter
        for _ in benchmark.scaledIterations {
            counter.increment()
        }
        blackHole(counter)
    }

    Benchmark("counter_increment/floor_atomic", configuration: mega) { benchmark in
        let counter = Fixtures.shared.bareAtomic
        for _ in benchmark.scaledIterations {
            counter.value.wrappingAdd(1, ordering: .relaxed)
        }
        blackHole(counter)
    }

    Benchmark("counter_increment/swift-prometheus", configuration: mega) { benchmark in
        let counter = Fixtures.shared.spCounter
        for _ in benchmark.scaledIterations {
            counter.increment()
        }
        blackHole(counter)
    }

    // MARK: 2. Labeled lookup of an existing series, then increment.

    Benchmark("labeled_lookup_increment/MetricsKit", configuration: kilo) { benchmark in
        let family = Fixtures.shared.mkRequests
        for _ in benchmark.scaledIterations {
            family.labels("GET", "/", "200").increment()
        }
    }

    Benchmark("labeled_lookup_increment/swift-prometheus", configuration: kilo) { benchmark in
        let registry = Fixtures.shared.spRegistry
        for _ in benchmark.scaledIterations {
            lookupRequests(registry, "GET", "/", "200").increment()
        }
    }

    // MARK: 3. Histogram observe, 11 default buckets, one thread.

    Benchmark("histogram_observe_1_thread/MetricsKit", configuration: mega) { benchmark in
        let histogram = Fixtures.shared.mkHistogram
        let values = observations
        for i in benchmark.scaledIterations {
            histogram.observe(values[i & observationMask])
        }
    }

    Benchmark("histogram_observe_1_thread/swift-prometheus", configuration: mega) { benchmark in
        let histogram = Fixtures.shared.spHistogram
        let values = observations
        for i in benchmark.scaledIterations {
            histogram.record(values[i & observationMask])
        }
    }

    // MARK: 3b. Observe with an exemplar (the label set built per call, as a traced request
    // would), next to the same observe without one: calls that pass none must not pay.

    Benchmark("histogram_observe_exemplar/MetricsKit", configuration: kilo) { benchmark in
        let histogram = Fixtures.shared.mkHistogram
        let values = observations
        for i in benchmark.scaledIterations {
            histogram.observe(values[i & observationMask], exemplar: ["trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"])
        }
    }

    Benchmark("histogram_observe_exemplar/MetricsKit_without", configuration: kilo) { benchmark in
        let histogram = Fixtures.shared.mkHistogram
        let values = observations
        for i in benchmark.scaledIterations {
            histogram.observe(values[i & observationMask])
        }
    }

    // MARK: 4. Histogram observe, two threads on one histogram.
    //
    // One iteration is a batch of `twoThreadOps` observations, half on each of two threads
    // started together. Small batches and a longer run: with a lock (swift-prometheus) the
    // batch time is bimodal (threads alternating on the lock, or one running while the other
    // sleeps), so the p50 needs many samples to settle.

    let twoThreads = Benchmark.Configuration(scalingFactor: .one, maxDuration: .seconds(4))
    let render5b = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 5)
    var bufferOM: [UInt8] = []

    Benchmark("histogram_observe_2_threads/MetricsKit", configuration: twoThreads) { benchmark in
        let histogram = Fixtures.shared.mkHistogram
        let values = observations
        let perThread = twoThreadOps / 2
        onTwoThreads { thread in
            let offset = thread &* 7
            for i in 0..<perThread {
                histogram.observe(values[(i &+ offset) & observationMask])
            }
        }
    }

    Benchmark("histogram_observe_2_threads/swift-prometheus", configuration: twoThreads) { benchmark in
        let histogram = Fixtures.shared.spHistogram
        let values = observations
        let perThread = twoThreadOps / 2
        onTwoThreads { thread in
            let offset = thread &* 7
            for i in 0..<perThread {
                histogram.record(values[(i &+ offset) & observationMask])
            }
        }
    }

    // MARK: 4b. Native histogram observe (native buckets only, client_golang's defaults: factor
    // 1.1, schema 3), against our classic observe and swift-prometheus' classic record, on 1
    // and 2 threads.

    let native = Fixtures.shared.mkNative
    let classic = Fixtures.shared.mkHistogram
    let peer = Fixtures.shared.spHistogram
    Benchmark("native_observe_1_thread/MetricsKit", configuration: mega) { observeOnOneThread($0) { native.observe($0) } }
    Benchmark("native_observe_1_thread/MetricsKit_classic", configuration: mega) {
        observeOnOneThread($0) { classic.observe($0) }
    }
    Benchmark("native_observe_1_thread/swift-prometheus", configuration: mega) {
        observeOnOneThread($0) { peer.record($0) }
    }
    Benchmark("native_observe_2_threads/MetricsKit", configuration: twoThreads) { _ in
        observeOnTwoThreads { native.observe($0) }
    }
    Benchmark("native_observe_2_threads/MetricsKit_classic", configuration: twoThreads) { _ in
        observeOnTwoThreads { classic.observe($0) }
    }
    Benchmark("native_observe_2_threads/swift-prometheus", configuration: twoThreads) { _ in
        observeOnTwoThreads { peer.record($0) }
    }

    // MARK: 5b. OpenMetrics scrape of 5,000 series (swift-prometheus has only 0.0.4: its emit is
    // the peer).

    Benchmark("render_openmetrics_5000_series/MetricsKit", configuration: render5b) { benchmark in
        let registry = RenderFixture.fixture(5_000).metricsKit
        for _ in benchmark.scaledIterations {
            bufferOM.removeAll(keepingCapacity: true)
            registry.render(.openMetrics, into: &bufferOM)
            blackHole(bufferOM.count)
        }
    }

    Benchmark("render_openmetrics_5000_series/swift-prometheus", configuration: render5b) { benchmark in
        let registry = RenderFixture.fixture(5_000).prometheus
        for _ in benchmark.scaledIterations {
            bufferOM.removeAll(keepingCapacity: true)
            registry.emit(into: &bufferOM)
            blackHole(bufferOM.count)
        }
    }

    // MARK: 5. One scrape into a reused buffer; mallocs per scrape at 1,000 and 5,000 series.

    let render = Benchmark.Configuration(metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 5)
    var buffer: [UInt8] = []

    for seriesCount in [1_000, 5_000] {
        Benchmark("render_\(seriesCount)_series/MetricsKit", configuration: render) { benchmark in
            let registry = RenderFixture.fixture(seriesCount).metricsKit
            for _ in benchmark.scaledIterations {
                buffer.removeAll(keepingCapacity: true)
                registry.render(into: &buffer)
                blackHole(buffer.count)
            }
        }

        Benchmark("render_\(seriesCount)_series/swift-prometheus", configuration: render) { benchmark in
            let registry = RenderFixture.fixture(seriesCount).prometheus
            for _ in benchmark.scaledIterations {
                buffer.removeAll(keepingCapacity: true)
                registry.emit(into: &buffer)
                blackHole(buffer.count)
            }
        }

        // MARK: 6. The scrape API (what a Hummingbird or Vapor route calls): negotiation,
        // render into the endpoint's reused buffer, the body handed to a closure; plain and
        // gzip. Its mallocs must not grow with the series (none per sample).

        for gzip in [false, true] {
            let name = gzip ? "scrape_gzip_\(seriesCount)_series" : "scrape_\(seriesCount)_series"
            Benchmark("\(name)/MetricsKit", configuration: render) { benchmark in
                let endpoint = RenderFixture.fixture(seriesCount).scrapes
                for _ in benchmark.scaledIterations {
                    let bytes = endpoint.scrape(method: "GET", accept: nil, acceptEncoding: gzip ? "gzip" : nil) { $0.body.count }
                    blackHole(bytes)
                }
            }
        }
    }

    // MARK: 7. Exemplars from the current trace (TraceExemplarBenchmarks.swift).

    traceExemplarBenchmarks()
}

/// `benchmark.scaledIterations` observations of the shared values.
@inline(__always)
func observeOnOneThread(_ benchmark: Benchmark, _ observe: (Double) -> Void) {
    let values = observations
    for i in benchmark.scaledIterations {
        observe(values[i & observationMask])
    }
}

/// `twoThreadOps` observations, half on each of two threads (see `onTwoThreads`).
@inline(__always)
func observeOnTwoThreads(_ observe: @escaping @Sendable (Double) -> Void) {
    let values = observations
    let perThread = twoThreadOps / 2
    onTwoThreads { thread in
        let offset = thread &* 7
        for i in 0..<perThread {
            observe(values[(i &+ offset) & observationMask])
        }
    }
}

// MARK: - Two threads

/// Observations per iteration of the two-thread benchmarks, both threads together.
let twoThreadOps = 200_000

/// Runs `body(0)` and `body(1)` on two new threads that start together (each waits at a
/// barrier until both are up) and returns when both are done. Dedicated threads rather than
/// Dispatch: the benchmark itself runs on a Dispatch worker, and on a 2-core machine
/// `concurrentPerform` may find no second worker and run both halves one after the other.
/// Starting the threads costs tens of microseconds, about 1% of a batch.
func onTwoThreads(_ body: @escaping @Sendable (Int) -> Void) {
    let barrier = Barrier()
    let done = DispatchSemaphore(value: 0)
    for index in 0..<2 {
        Thread {
            barrier.arrived.wrappingAdd(1, ordering: .acquiringAndReleasing)
            while barrier.arrived.load(ordering: .acquiring) < 2 {}
            body(index)
            done.signal()
        }.start()
    }
    done.wait()
    done.wait()
}

final class Barrier: Sendable {
    let arrived = Atomic<Int>(0)
}

// MARK: - Fixtures

/// The floor: one atomic word in a final class, as a counter would hold it.
final class BareAtomicCounter: Sendable {
    let value = Atomic<UInt64>(0)
}

/// 1,024 observations, log-uniform between 1 ms and 20 s, so they land in every bucket of
/// the default layout (5 ms ... 10 s) and in +Inf, in an order the branch predictor cannot learn.
let observationMask = 1_023
let observations: [Double] = {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0...observationMask).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let unit = Double(state >> 11) / Double(1 << 53)
        return 0.001 * pow(20_000, unit)
    }
}()

/// The metrics of workloads 1-4, registered once per process.
final class Fixtures: Sendable {
    static let shared = Fixtures()

    let mkRegistry = MetricRegistry()
    let mkCounter: MetricsKit.Counter
    let mkRequests: MetricFamily<MetricsKit.Counter>
    let mkHistogram: MetricsKit.Histogram
    let mkNative: MetricsKit.Histogram
    let bareAtomic = BareAtomicCounter()

    let spRegistry = PrometheusCollectorRegistry()
    let spCounter: Prometheus.Counter
    let spHistogram: ValueHistogram

    private init() {
        do {
            mkCounter = try mkRegistry.counter("app_errors_total", help: "Errors.")
            mkRequests = try mkRegistry.counter(
                "http_requests_total", help: "Total HTTP requests.", labelNames: ["method", "path", "status"])
            mkHistogram = try mkRegistry.histogram(
                "http_request_duration_seconds", help: "Latency.", buckets: MetricsKit.Histogram.defaultBuckets)
            mkNative = try mkRegistry.histogram(
                "native_request_duration_seconds", help: "Latency.", buckets: [], native: NativeHistogramOptions())
        } catch {
            fatalError("MetricsKit registration failed: \(error)")
        }
        // Existing series: the benchmarks look up a series that is already there.
        mkRequests.labels("GET", "/", "200").increment()

        spCounter = spRegistry.makeCounter(descriptor: descriptor("app_errors_total", help: "Errors."))
        spHistogram = spRegistry.makeValueHistogram(
            descriptor: descriptor("http_request_duration_seconds", help: "Latency."),
            buckets: MetricsKit.Histogram.defaultBuckets)
        lookupRequests(spRegistry, "GET", "/", "200").increment()
    }
}

func descriptor(_ name: String, help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}

/// swift-prometheus's lookup by name and labels, as an application calls it per request:
/// `registry.makeCounter(name:labels:)` finds the existing series. (2.x deprecates it in favour of
/// `makeCounter(descriptor:labels:)`, which also joins the descriptor's name on every call;
/// the protocol only keeps the deprecation warning out of the build.)
@inline(__always)
func lookupRequests(
    _ registry: some NamedCounterLookup, _ method: String, _ path: String, _ status: String
) -> Prometheus.Counter {
    registry.makeCounter(name: "http_requests_total", labels: [("method", method), ("path", path), ("status", status)])
}

protocol NamedCounterLookup {
    func makeCounter(name: String, labels: [(String, String)]) -> Prometheus.Counter
}

extension PrometheusCollectorRegistry: NamedCounterLookup {}

/// The same `seriesCount` series in both libraries: half counters, half histograms (11 default
/// buckets), in 5 counter and 5 histogram families, 3 labels each, every series with data.
final class RenderFixture: Sendable {
    let metricsKit = MetricRegistry()
    /// Kept across iterations, as a server keeps it: its buffers and zlib state are reused.
    let scrapes: ScrapeEndpoint
    let prometheus = PrometheusCollectorRegistry()

    static let fixtures: [Int: RenderFixture] = [1_000: RenderFixture(seriesCount: 1_000), 5_000: RenderFixture(seriesCount: 5_000)]

    static func fixture(_ seriesCount: Int) -> RenderFixture { fixtures[seriesCount]! }

    private init(seriesCount: Int) {
        scrapes = ScrapeEndpoint(registry: metricsKit)
        let families = 5
        let perFamily = seriesCount / 2 / families
        let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        let statuses = ["200", "201", "204", "400", "404", "500", "503"]
        do {
            for f in 0..<families {
                let counterName = "bench_requests_\(f)_total"
                let histogramName = "bench_request_\(f)_duration_seconds"
                let counters = try metricsKit.counter(
                    counterName, help: "Requests of service \(f).", labelNames: ["method", "path", "status"])
                let histograms = try metricsKit.histogram(
                    histogramName, help: "Request latency of service \(f).", labelNames: ["method", "path", "code"])
                for s in 0..<perFamily {
                    let method = methods[s % methods.count]
                    let path = "/api/v1/resource/\(s / methods.count)"
                    let status = statuses[s % statuses.count]
                    let count = s * 37 % 10_000 + 1

                    counters.labels(method, path, status).increment(by: count)
                    prometheus.makeCounter(
                        descriptor: descriptor(counterName, help: "Requests of service \(f)."),
                        labels: [("method", method), ("path", path), ("status", status)]
                    ).increment(by: Int64(count))

                    let mk = histograms.labels(method, path, status)
                    let sp = prometheus.makeValueHistogram(
                        descriptor: descriptor(histogramName, help: "Request latency of service \(f)."),
                        labels: [("method", method), ("path", path), ("code", status)],
                        buckets: MetricsKit.Histogram.defaultBuckets)
                    for k in 0..<5 {
                        let value = observations[(s &* 5 &+ k) & observationMask]
                        mk.observe(value)
                        sp.record(value)
                    }
                }
            }
        } catch {
            fatalError("MetricsKit registration failed: \(error)")
        }
    }
}
