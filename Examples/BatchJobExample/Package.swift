// swift-tools-version: 6.1
// A batch job that pushes its metrics to a Prometheus Pushgateway when it ends, through
// MetricsKitPush (no dependency beyond MetricsKit). `make examples` builds it and runs it
// against a real Pushgateway (Tests/examples/check_batch_example.py).
import PackageDescription

// `.package(path: "../..")` takes the identity of the checkout's directory name, whatever the
// clone is called; products of it are referred to through that identity.
let metricsKitPackage = Context.packageDirectory.split(separator: "/").dropLast(2).last.map(String.init) ?? "main"

let package = Package(
    name: "BatchJobExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "BatchJobExample",
            dependencies: [
                .product(name: "MetricsKit", package: metricsKitPackage),
                .product(name: "MetricsKitPush", package: metricsKitPackage),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
