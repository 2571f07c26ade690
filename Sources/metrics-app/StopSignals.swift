#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM and SIGINT, the signals that start the drain. `block()` runs first thing in `main`,
/// before any thread exists, so every thread (libmicrohttpd's, Dispatch's) inherits the mask
/// and none takes the default action; `wait()` receives the first one with `sigwait`. A signal
/// sent at any moment after `block()` (a kubelet's SIGTERM right after the first readiness
/// probe, a test's right after the "listening" line) stays pending until `wait()`: it is never
/// lost between ignoring the signal and installing a handler, and never kills the process.
enum StopSignals {
    private static var set: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }

    /// Blocks SIGTERM and SIGINT in the calling thread and the threads it creates from now on.
    static func block() {
        var set = set
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for SIGTERM or SIGINT (blocked by `block()`) and returns its number.
    static func wait() -> Int32 {
        var set = set
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }
}
