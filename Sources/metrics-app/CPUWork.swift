#if canImport(Glibc)
    import Glibc
#endif

/// Burns CPU time on the calling thread.
enum CPUWork {
    static func burn(milliseconds: Int) {
        let end = threadCPUTime() + Double(milliseconds) / 1000
        var x: UInt64 = 0x1234_5678
        while threadCPUTime() < end {
            for _ in 0..<10_000 { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
        }
        if x == 42 { print("") }  // keep the loop
    }

    private static func threadCPUTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
