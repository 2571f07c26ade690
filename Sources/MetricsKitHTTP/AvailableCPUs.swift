import CMicroHTTPD
import MetricsKit

#if canImport(Glibc)
    import Glibc
#endif

/// How many CPUs this process may use: the online CPUs, fewer when the affinity mask
/// (`sched_getaffinity`, `taskset`, a cpuset) allows fewer, fewer still when the cgroup's CPU
/// quota (a Kubernetes CPU limit) is lower, rounded up. So a pod limited to 2 CPUs on a 64-CPU
/// node counts 2, as Go 1.25's GOMAXPROCS and Java's container support do.
enum AvailableCPUs {
    /// The count for this process, from /sys/fs/cgroup and /proc/self/cgroup.
    static var count: Int {
        count(online: online, affinity: affinity, quota: cgroupQuota(root: "/sys/fs/cgroup", membership: "/proc/self/cgroup"))
    }

    /// The smallest of the three, at least 1; a nil affinity or quota does not limit.
    static func count(online: Int, affinity: Int?, quota: Double?) -> Int {
        var cpus = online
        if let affinity, affinity > 0 { cpus = min(cpus, affinity) }
        if let quota, quota > 0 { cpus = min(cpus, Int(quota.rounded(.up))) }
        return max(1, cpus)
    }

    /// The CPUs the system has online.
    static var online: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The CPUs of the calling thread's affinity mask, nil when it cannot be read.
    static var affinity: Int? {
        let count = Int(metricskit_affinity_cpu_count())
        return count > 0 ? count : nil
    }

    /// The CPU quota, in CPUs, of the cgroups the process is in (`membership`, the format of
    /// /proc/self/cgroup), read under `root` (where cgroupfs is mounted): cgroup v2's `cpu.max`
    /// or v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us`, in the process's cgroup and its
    /// ancestors (the lowest wins). Nil when none is set.
    ///
    /// Inside a container the cgroup namespace (v2) or the mount (v1) usually puts the
    /// container's own cgroup at `root`, which the walk up to `root` reaches either way.
    static func cgroupQuota(root: String, membership: String) -> Double? {
        guard let text = SmallFile.text(membership) else { return nil }
        var lowest: Double?
        func consider(_ quota: Double?) {
            if let quota { lowest = min(lowest ?? quota, quota) }
        }
        for line in text.split(separator: "\n") {
            // hierarchy-ID:controllers:path
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[0] == "0" && fields[1].isEmpty {
                for directory in directories(from: root, down: path) { consider(v2Quota(in: directory)) }
            } else if fields[1].split(separator: ",").contains("cpu") {
                // v1: the cpu controller's mount, alone or co-mounted with cpuacct.
                for mount in ["cpu", "cpu,cpuacct", "cpuacct,cpu"] {
                    for directory in directories(from: root + "/" + mount, down: path) {
                        consider(v1Quota(in: directory))
                    }
                }
            }
        }
        return lowest
    }

    /// `base/a/b`, `base/a`, `base` for the path `/a/b`.
    static func directories(from base: String, down path: String) -> [String] {
        var result = [base]
        var current = base
        for component in path.split(separator: "/") where !component.isEmpty {
            current += "/" + component
            result.append(current)
        }
        return result.reversed()
    }

    /// cgroup v2 `cpu.max`: `max 100000` (no limit) or `QUOTA PERIOD` in microseconds.
    static func v2Quota(in directory: String) -> Double? {
        guard let text = SmallFile.text(directory + "/cpu.max") else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let quota = Double(fields[0]), let period = Double(fields[1]), quota > 0, period > 0
        else { return nil }
        return quota / period
    }

    /// cgroup v1 `cpu.cfs_quota_us` (-1: no limit) over `cpu.cfs_period_us`.
    static func v1Quota(in directory: String) -> Double? {
        guard let quotaText = SmallFile.text(directory + "/cpu.cfs_quota_us"),
            let periodText = SmallFile.text(directory + "/cpu.cfs_period_us"),
            let quota = Double(quotaText.trimmingNewlines), let period = Double(periodText.trimmingNewlines),
            quota > 0, period > 0
        else { return nil }
        return quota / period
    }
}

extension String {
    fileprivate var trimmingNewlines: Substring {
        var slice = Substring(self)
        while slice.last == "\n" || slice.last == " " { slice = slice.dropLast() }
        return slice
    }
}
