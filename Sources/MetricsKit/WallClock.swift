#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The real-time clock, read without Foundation.
enum WallClock {
    /// Seconds since the Unix epoch, with nanosecond resolution.
    static func secondsSinceEpoch() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

#if os(Linux)
    /// glibc's `sched_getcpu` (not in Swift's Glibc module): the CPU this thread runs on, read
    /// from the kernel's restartable-sequences area, a couple of nanoseconds.
    @_silgen_name("sched_getcpu")
    @usableFromInline
    func currentCPU() -> Int32
#else
    @inlinable
    func currentCPU() -> Int32 { 0 }
#endif
