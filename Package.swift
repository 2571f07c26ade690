// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "MetricsKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MetricsKit", targets: ["MetricsKit"])
    ],
    targets: [
        // The client library: no package dependencies, only the standard library,
        // Synchronization and the C library.
        .target(name: "MetricsKit"),
        .testTarget(name: "MetricsKitTests", dependencies: ["MetricsKit"]),
    ],
    swiftLanguageModes: [.v6]
)
