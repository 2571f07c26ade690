#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The standard process metrics, read from Linux `/proc` at scrape time, with the names every
/// Prometheus client uses:
///
/// | metric | type | meaning |
/// |---|---|---|
/// | `process_cpu_seconds_total` | counter | user and system CPU time spent, in seconds |
/// | `process_resident_memory_bytes` | gauge | resident set size |
/// | `process_virtual_memory_bytes` | gauge | virtual memory size |
/// | `process_open_fds` | gauge | open file descriptors |
/// | `process_max_fds` | gauge | the soft limit on open file descriptors |
/// | `process_start_time_seconds` | gauge | start time since the Unix epoch, in seconds |
///
/// ```swift
/// try registry.register(ProcessCollector())
/// ```
///
/// On systems without `/proc` (macOS) it produces no samples.
public struct ProcessCollector: Collector {
    private let prefix: String

    /// - Parameter namespace: prepended with `_` to every name (`myapp_process_open_fds`);
    ///   empty (the default) for the customary `process_...` names.
    public init(namespace: String = "") {
        self.prefix = namespace.isEmpty ? "" : namespace + "_"
    }

    /// The six `process_*` names (with the namespace prefix, if any).
    public var familyNames: [String] {
        [
            "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
            "process_open_fds", "process_max_fds", "process_start_time_seconds",
        ].map { prefix + $0 }
    }

    /// Reads `/proc/self/stat`, `/proc/stat`, `/proc/self/fd` and the file descriptor limit.
    public func collect() -> [CollectedFamily] {
        #if os(Linux)
            return linuxFamilies()
        #else
            return []
        #endif
    }

    #if os(Linux)
    private func linuxFamilies() -> [CollectedFamily] {
        guard let stat = ProcStat.read() else { return [] }
        var families = [
            family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", .counter,
                   stat.cpuSeconds),
            family("process_resident_memory_bytes", "Resident memory size in bytes.", .gauge, stat.residentBytes),
            family("process_virtual_memory_bytes", "Virtual memory size in bytes.", .gauge, stat.virtualBytes),
            family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", .gauge,
                   stat.startTimeSeconds),
        ]
        if let open = ProcStat.openFileDescriptors() {
            families.append(family("process_open_fds", "Number of open file descriptors.", .gauge, Double(open)))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(
                family("process_max_fds", "Maximum number of open file descriptors.", .gauge, Double(limit.rlim_cur)))
        }
        return families
    }
    #endif

    private func family(_ name: String, _ help: String, _ type: MetricType, _ value: Double) -> CollectedFamily {
        CollectedFamily(name: prefix + name, help: help, type: type, samples: [CollectedSample(value: value)])
    }
}

#if os(Linux)
/// What `/proc/self/stat` and `/proc/stat` say about this process.
struct ProcStat {
    var cpuSeconds: Double
    var residentBytes: Double
    var virtualBytes: Double
    var startTimeSeconds: Double

    static func read() -> ProcStat? {
        guard let text = SmallFile.read("/proc/self/stat"),
            let close = text.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        // Fields after "(comm)": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
        let fields = text[text.index(after: close)...].split(separator: UInt8(ascii: " "))
        func field(_ number: Int) -> Double? {
            let index = number - 3
            guard index < fields.count else { return nil }
            return Double(String(decoding: fields[index], as: UTF8.self).trimmingNewline)
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23),
            let rss = field(24), let bootTime = bootTime(), ticks > 0
        else { return nil }
        return ProcStat(
            cpuSeconds: (utime + stime) / ticks, residentBytes: rss * pageSize, virtualBytes: vsize,
            startTimeSeconds: bootTime + start / ticks)
    }

    /// `btime` of `/proc/stat`: boot time in seconds since the epoch.
    static func bootTime() -> Double? {
        guard let text = SmallFile.read("/proc/stat") else { return nil }
        for line in text.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("btime ".utf8)) {
            return Double(String(decoding: line.dropFirst(6), as: UTF8.self))
        }
        return nil
    }

    /// Entries of `/proc/self/fd`, not counting the descriptor used to read it.
    static func openFileDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return count - 1
    }
}

extension String {
    fileprivate var trimmingNewline: String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}
#endif
