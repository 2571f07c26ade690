import Foundation
@testable import MetricsKitHTTP
import Testing

/// The default thread count: fake cgroup trees (v1 and v2) under a temporary root.
@Suite("available CPUs")
struct AvailableCPUsTests {
    /// A temporary directory holding `files` (relative path: contents).
    final class FakeTree {
        let root: String
        init(_ files: [String: String]) throws {
            root = NSTemporaryDirectory() + "cgroup-\(UUID().uuidString)"
            for (path, contents) in files {
                let url = URL(fileURLWithPath: root + "/" + path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try contents.write(to: url, atomically: true, encoding: .utf8)
            }
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
        func quota() -> Double? { AvailableCPUs.cgroupQuota(root: root + "/fs", membership: root + "/self-cgroup") }
    }

    @Test func cgroupV2QuotaOfTheProcessCgroup() throws {
        let tree = try FakeTree([
            "self-cgroup": "0::/kubepods/pod1/c1\n",
            "fs/cpu.max": "max 100000\n",
            "fs/kubepods/pod1/c1/cpu.max": "150000 100000\n",
        ])
        #expect(tree.quota() == 1.5)
        #expect(AvailableCPUs.count(online: 64, affinity: 64, quota: tree.quota()) == 2)
    }

    @Test func cgroupV2LowestAncestorWinsAndMaxMeansNoLimit() throws {
        let tree = try FakeTree([
            "self-cgroup": "0::/kubepods/pod1/c1\n",
            "fs/kubepods/cpu.max": "400000 100000\n",
            "fs/kubepods/pod1/cpu.max": "100000 100000\n",
            "fs/kubepods/pod1/c1/cpu.max": "max 100000\n",
        ])
        #expect(tree.quota() == 1)
        let unlimited = try FakeTree(["self-cgroup": "0::/a\n", "fs/a/cpu.max": "max 100000\n"])
        #expect(unlimited.quota() == nil)
        #expect(AvailableCPUs.count(online: 8, affinity: nil, quota: unlimited.quota()) == 8)
    }

    /// A container's namespace shows "/" while the limit sits on the mount's root.
    @Test func cgroupV2NamespaceRoot() throws {
        let tree = try FakeTree(["self-cgroup": "0::/\n", "fs/cpu.max": "200000 100000\n"])
        #expect(tree.quota() == 2)
    }

    @Test func cgroupV1QuotaAndPeriod() throws {
        let tree = try FakeTree([
            "self-cgroup": "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n",
            "fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "250000\n",
            "fs/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
        ])
        #expect(tree.quota() == 2.5)
        #expect(AvailableCPUs.count(online: 16, affinity: 16, quota: tree.quota()) == 3)
        let unlimited = try FakeTree([
            "self-cgroup": "4:cpu,cpuacct:/\n",
            "fs/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "fs/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
        ])
        #expect(unlimited.quota() == nil)
    }

    /// The host's path of a container's cgroup while the mount shows the container's own at its
    /// root (v1 without a cgroup namespace).
    @Test func cgroupV1HostPathFallsBackToTheMountRoot() throws {
        let tree = try FakeTree([
            "self-cgroup": "3:cpu:/kubepods/burstable/pod9/c2\n",
            "fs/cpu/cpu.cfs_quota_us": "50000\n",
            "fs/cpu/cpu.cfs_period_us": "100000\n",
        ])
        #expect(tree.quota() == 0.5)
        #expect(AvailableCPUs.count(online: 4, affinity: nil, quota: tree.quota()) == 1)
    }

    @Test func noCgroupFilesMeansNoQuota() throws {
        let tree = try FakeTree(["self-cgroup": "0::/x\n"])
        #expect(tree.quota() == nil)
        #expect(AvailableCPUs.cgroupQuota(root: "/nonexistent", membership: "/nonexistent/cgroup") == nil)
    }

    @Test func affinityMaskLimitsTheCount() {
        #expect(AvailableCPUs.count(online: 8, affinity: 3, quota: nil) == 3)
        #expect(AvailableCPUs.count(online: 8, affinity: 3, quota: 1.2) == 2)
        #expect(AvailableCPUs.count(online: 8, affinity: nil, quota: 0.1) == 1)
        #expect((1...AvailableCPUs.online).contains(AvailableCPUs.affinity ?? 0))
    }
}
