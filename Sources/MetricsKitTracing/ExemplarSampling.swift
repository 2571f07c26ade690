/// How often a series traced with ``MetricsKit/Counter/exemplarsFromTrace(_:)`` (or a family's)
/// reads the current trace for an exemplar.
///
/// The rule: **each series makes at most one exemplar attempt per `interval`** (100 ms by
/// default). The first increment or observation after the interval has passed claims the
/// attempt (one atomic compare-and-swap, so one caller wins); it reads the current
/// `ServiceContext`, has the installed tracer inject it as a W3C `traceparent`, and records
/// `{trace_id, span_id}` as the series' exemplar when the trace is sampled (flag `01`; see
/// ``requireSampledTrace``). An attempt outside any span, or in an unsampled trace, records
/// nothing and still uses up the interval, so untraced traffic does not pay for lookups
/// either. Every other call is the plain update plus a coarse clock read and an atomic load.
///
/// Prometheus keeps only the latest exemplar per series and reads it once per scrape, so one
/// per 100 ms (150 per 15 s scrape interval) loses nothing a scrape could show. A histogram
/// counts one attempt per series, whichever bucket the observation falls in; each bucket still
/// keeps its own latest exemplar.
public struct ExemplarSampling: Sendable, Hashable {
    /// The least time between two exemplar attempts of one series. `.zero` attempts on every
    /// call (for tests and benchmarks; it makes each update pay the whole exemplar cost).
    public var interval: Duration
    /// Records exemplars only from traces whose `traceparent` flags say `sampled` (the default:
    /// an exemplar should point at a trace the tracing backend keeps).
    public var requireSampledTrace: Bool

    /// A sampling rule: at most one attempt per `interval`, from sampled traces only unless
    /// `requireSampledTrace` is false.
    public init(interval: Duration = .milliseconds(100), requireSampledTrace: Bool = true) {
        self.interval = interval
        self.requireSampledTrace = requireSampledTrace
        let (seconds, attoseconds) = interval.components
        intervalNanoseconds =
            seconds < 0 ? 0 : UInt64(clamping: seconds) &* 1_000_000_000 &+ UInt64(clamping: attoseconds / 1_000_000_000)
    }

    /// One attempt per 100 ms per series, sampled traces only.
    public static let `default` = ExemplarSampling()

    /// `interval` in nanoseconds, computed once.
    let intervalNanoseconds: UInt64
}
