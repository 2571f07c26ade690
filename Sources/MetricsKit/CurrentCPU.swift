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
