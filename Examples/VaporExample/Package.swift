// swift-tools-version: 6.1
// A Vapor 4 service that exports its metrics through MetricsKit: Vapor's request metrics
// (DefaultResponder's, through the swift-metrics backend), an own counter and histogram, the
// process collector, and /metrics through ScrapeEndpoint. `make examples` builds and checks it.
import PackageDescription

// `.package(path: "../..")` takes the identity of the checkout's directory name, whatever the
// clone is called; products of it are referred to through that identity.
let metricsKitPackage = Context.packageDirectory.split(separator: "/").dropLast(2).last.map(String.init) ?? "main"

let package = Package(
    name: "VaporExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/vapor/vapor", exact: "4.122.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "VaporExample",
            dependencies: [
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsKit", package: metricsKitPackage),
                .product(name: "MetricsKitSwiftMetrics", package: metricsKitPackage),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
