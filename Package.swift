// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "MetricsKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MetricsKit", targets: ["MetricsKit"]),
        .library(name: "MetricsKitHTTP", targets: ["MetricsKitHTTP"]),
        .library(name: "MetricsKitSwiftMetrics", targets: ["MetricsKitSwiftMetrics"]),
        .library(name: "MetricsKitPush", targets: ["MetricsKitPush"]),
        .library(name: "MetricsKitTracing", targets: ["MetricsKitTracing"]),
        .library(name: "MetricsKitTesting", targets: ["MetricsKitTesting"]),
        .executable(name: "metrics-app", targets: ["metrics-app"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // The client library: no package dependencies, only the standard library,
        // Synchronization, the C library and zlib (gzip for scrapes).
        .target(name: "MetricsKit", dependencies: ["CZlib"]),
        // libmicrohttpd and zlib, from Debian's -dev packages.
        .systemLibrary(
            name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // An HTTP server over libmicrohttpd that serves a registry and instruments requests.
        .target(name: "MetricsKitHTTP", dependencies: ["MetricsKit", "CMicroHTTPD"]),
        // A swift-metrics backend, separate so MetricsKit itself keeps no dependencies.
        .target(
            name: "MetricsKitSwiftMetrics",
            dependencies: ["MetricsKit", .product(name: "CoreMetrics", package: "swift-metrics")]),
        // A Pushgateway client for batch jobs: plain HTTP/1.1 over a socket, no dependency
        // beyond MetricsKit (see Sources/MetricsKitPush/PlainHTTPClient.swift for why).
        .target(name: "MetricsKitPush", dependencies: ["MetricsKit"]),
        // Exemplars from the current trace (swift-distributed-tracing), separate so MetricsKit
        // itself keeps no dependencies.
        .target(
            name: "MetricsKitTracing",
            dependencies: ["MetricsKit", .product(name: "Tracing", package: "swift-distributed-tracing")]),
        // Helpers for a service's tests: read a series' value, compare an exposition, lint it as
        // promtool does. No test framework dependency: they return values to assert on.
        .target(name: "MetricsKitTesting", dependencies: ["MetricsKit"]),
        // The demo workload: configuration and wiring only.
        .executableTarget(
            name: "metrics-app",
            dependencies: [
                "MetricsKitHTTP", "MetricsKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MetricsKitTests", dependencies: ["MetricsKit", "TestSupport", "MetricsKitTesting"]),
        .testTarget(
            name: "MetricsKitSwiftMetricsTests",
            dependencies: [
                "MetricsKitSwiftMetrics", "MetricsKit", "TestSupport", .product(name: "Metrics", package: "swift-metrics"),
            ]),
        .testTarget(name: "MetricsKitPushTests", dependencies: ["MetricsKitPush", "MetricsKit", "TestSupport"]),
        .testTarget(
            name: "MetricsKitTracingTests",
            dependencies: [
                "MetricsKitTracing", "MetricsKit", "MetricsKitTesting", "TestSupport",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),
        .testTarget(name: "MetricsKitTestingTests", dependencies: ["MetricsKitTesting", "MetricsKit", "TestSupport"]),
        .testTarget(
            name: "MetricsKitHTTPTests",
            dependencies: [
                "MetricsKitHTTP", "MetricsKit", "TestSupport", "metrics-app", "MetricsKitTesting", "MetricsKitTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
