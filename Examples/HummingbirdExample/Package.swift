// swift-tools-version: 6.1
// A Hummingbird 2 service that exports its metrics through MetricsKit: Hummingbird's
// MetricsMiddleware (through the swift-metrics backend), an own counter and histogram with
// exemplars from the current trace (Hummingbird's TracingMiddleware, MetricsKitTracing), the
// process collector, and /metrics through ScrapeEndpoint. `make examples` builds and checks it.
import PackageDescription

// `.package(path: "../..")` takes the identity of the checkout's directory name, whatever the
// clone is called; products of it are referred to through that identity.
let metricsKitPackage = Context.packageDirectory.split(separator: "/").dropLast(2).last.map(String.init) ?? "main"

let package = Package(
    name: "HummingbirdExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        .executableTarget(
            name: "HummingbirdExample",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsKit", package: metricsKitPackage),
                .product(name: "MetricsKitSwiftMetrics", package: metricsKitPackage),
                .product(name: "MetricsKitTracing", package: metricsKitPackage),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
