#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A monotonic clock cheap enough to read on every observe: the kernel's coarse clock (updated
/// every tick, a few milliseconds), read through the vDSO without a system call.
enum CoarseClock {
    /// Monotonic nanoseconds, with tick resolution.
    @inline(__always)
    static func nanoseconds() -> UInt64 {
        #if canImport(Darwin)
            return clock_gettime_nsec_np(CLOCK_UPTIME_RAW_APPROX)
        #else
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
            return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
        #endif
    }
}
