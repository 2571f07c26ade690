// Heap bytes per labeled counter series, measured with glibc's mallinfo2().
//
//   SeriesMemory metricskit|swift-prometheus [series]
//
// Creates `series` (default 100,000) counter series with 3 labels, in 20 families of equal
// size, each series incremented once, and prints the growth of the heap in use (malloc'ed bytes
// including chunk headers, plus mmap'ed blocks) divided by the series count (the families'
// own cost is included, spread over their series):
//
//   bytes_per_series <library> <series> <bytes> <bytes per series>
//
// The label value strings are created before the first reading and kept alive, so only what
// the library itself allocates per series is counted (its copies, pre-rendered text, tables).
// One library per process, so neither sees the other's heap.
//
// 20 families rather than one: swift-prometheus 2.4.1 copies a family's whole series table to
// add a series (copy on write of the dictionary it keeps in its registry), so creating
// 100,000 series in one family takes minutes; 5,000 per family takes seconds.

import CMallocInfo
import MetricsKit
import Prometheus

#if canImport(Glibc)
import Glibc
#endif

func heapInUse() -> Int { Int(cmallocinfo_heap_in_use()) }

let arguments = CommandLine.arguments
guard arguments.count >= 2, ["metricskit", "swift-prometheus"].contains(arguments[1]) else {
    print("usage: SeriesMemory metricskit|swift-prometheus [series]")
    exit(2)
}
let library = arguments[1]
let familyCount = 20
let perFamily = (arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000) / familyCount
let seriesCount = familyCount * perFamily

let methods = ["GET", "POST", "PUT", "DELETE"]
let statuses = ["200", "404", "500"]
// Paths of 20+ bytes live on the heap (not in a small string), as request paths usually do.
let paths = (0..<seriesCount).map { "/api/v1/resources/\($0)" }

guard heapInUse() > 0 else {
    print("SeriesMemory needs glibc 2.33+ (mallinfo2)")
    exit(2)
}
var before = 0
var after = 0

switch library {
case "metricskit":
    let registry = MetricRegistry()
    before = heapInUse()
    for f in 0..<familyCount {
        let requests = try registry.counter(
            "http_requests_\(f)_total", help: "Total HTTP requests.", labelNames: ["method", "path", "status"],
            seriesLimit: perFamily)
        for i in f * perFamily..<(f + 1) * perFamily {
            requests.labels(methods[i % methods.count], paths[i], statuses[i % statuses.count]).increment()
        }
        precondition(requests.seriesCount == perFamily)
    }
    after = heapInUse()
    withExtendedLifetime(registry) {}
default:
    let registry = PrometheusCollectorRegistry()
    let names = (0..<familyCount).map {
        MetricNameDescriptor(metricName: "http_requests_\($0)_total", unitName: "", helpText: "Total HTTP requests.")
    }
    before = heapInUse()
    for f in 0..<familyCount {
        for i in f * perFamily..<(f + 1) * perFamily {
            registry.makeCounter(
                descriptor: names[f],
                labels: [("method", methods[i % methods.count]), ("path", paths[i]), ("status", statuses[i % statuses.count])]
            ).increment()
        }
    }
    after = heapInUse()
    withExtendedLifetime(registry) {}
}
withExtendedLifetime(paths) {}

let grown = after - before
let perSeries = Double(grown) / Double(seriesCount)
print("bytes_per_series \(library) \(seriesCount) \(grown) \((perSeries * 10).rounded() / 10)")
