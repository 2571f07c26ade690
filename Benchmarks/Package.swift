// swift-tools-version: 6.1
// Benchmarks of MetricsKit against swift-prometheus, kept out of the library's own package
// (like swift-nio's Benchmarks/) so the library stays free of dependencies.
//
//   Benchmarks/run.sh            build, run everything, print one comparison table
//   swift package benchmark      the ordo-one runner alone (from this directory)
//   swift run -c release SeriesMemory metricskit|swift-prometheus
import PackageDescription

// `.package(path: "..")` takes the identity of the checkout's directory name, whatever the
// clone is called; products of it are referred to through that identity.
let metricsKitPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "main"

let package = Package(
    name: "MetricsKitBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // Time and mallocs, run by `swift package benchmark` (ordo-one/benchmark).
        .executableTarget(
            name: "MetricsKitBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MetricsKit", package: metricsKitPackage),
                .product(name: "MetricsKitTracing", package: metricsKitPackage),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Benchmarks/MetricsKitBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Heap bytes per labeled counter series (glibc mallinfo2), one library per process.
        .executableTarget(
            name: "SeriesMemory",
            dependencies: [
                "CMallocInfo",
                .product(name: "MetricsKit", package: metricsKitPackage),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/SeriesMemory"
        ),
        .target(name: "CMallocInfo", path: "Sources/CMallocInfo"),
    ],
    swiftLanguageModes: [.v6]
)
