import MetricsKit

/// A counter or histogram whose updates made inside a span carry the span's exemplar
/// (`trace_id`, `span_id`), sampled by ``ExemplarSampling``: the call site is the plain
/// `increment()` or `observe(_:)`.
///
/// ```swift
/// let orders = try registry.counter("shop_orders_total", help: "Orders placed.").exemplarsFromTrace()
/// try await tracer.withSpan("checkout") { _ in
///     orders.increment()  // {trace_id="…",span_id="…"} in OpenMetrics, at most once per 100 ms
/// }
/// ```
///
/// A value type holding the series: make one where the series is made and keep it; the
/// sampling state lives in the series itself, so any number of copies share it.
public struct TracedSeries<Series: MetricSeries>: Sendable {
    /// The series updated.
    public let series: Series
    /// How often the series reads the current trace.
    public let sampling: ExemplarSampling

    /// Wraps `series`, sampled by `sampling`.
    public init(_ series: Series, sampling: ExemplarSampling = .default) {
        self.series = series
        self.sampling = sampling
    }
}

extension TracedSeries where Series == Counter {
    /// Adds one; when this series' exemplar attempt is due and the current trace is sampled,
    /// with the trace's exemplar.
    @inline(__always)
    public func increment() {
        if let exemplar = dueExemplar() {
            series.increment(by: 1, exemplar: exemplar)
        } else {
            series.increment()
        }
    }

    /// Adds `amount`, with the trace's exemplar when one is due (see ``increment()``).
    @inline(__always)
    public func increment(by amount: Double) {
        if let exemplar = dueExemplar() {
            series.increment(by: amount, exemplar: exemplar)
        } else {
            series.increment(by: amount)
        }
    }

    /// The current trace's exemplar when this series' attempt is due and the trace qualifies.
    @inline(__always)
    private func dueExemplar() -> [String: String]? {
        guard series.claimExemplarAttempt(now: CoarseClock.nanoseconds(), interval: sampling.intervalNanoseconds)
        else { return nil }
        return TraceExemplar.current(requireSampled: sampling.requireSampledTrace)
    }
}

extension TracedSeries where Series == Histogram {
    /// Records `value`; when this series' exemplar attempt is due and the current trace is
    /// sampled, with the trace's exemplar (kept in the value's bucket).
    @inline(__always)
    public func observe(_ value: Double) {
        if series.claimExemplarAttempt(now: CoarseClock.nanoseconds(), interval: sampling.intervalNanoseconds),
            let exemplar = TraceExemplar.current(requireSampled: sampling.requireSampledTrace)
        {
            series.observe(value, exemplar: exemplar)
        } else {
            series.observe(value)
        }
    }

    /// Records a duration in seconds, as ``observe(_:)-(Double)`` does.
    public func observe(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        observe(Double(seconds) + Double(attoseconds) * 1e-18)
    }
}

/// A labeled family whose series are ``TracedSeries``: `labels(…)` gives the traced series.
///
/// ```swift
/// let requests = try registry.counter("http_requests_total", help: "…", labelNames: ["method"])
///     .exemplarsFromTrace()
/// requests.labels("GET").increment()
/// ```
public struct TracedFamily<Series: MetricSeries>: Sendable {
    /// The family whose series are updated.
    public let family: MetricFamily<Series>
    /// How often each series reads the current trace.
    public let sampling: ExemplarSampling

    /// Wraps `family`, each series sampled by `sampling`.
    public init(_ family: MetricFamily<Series>, sampling: ExemplarSampling = .default) {
        self.family = family
        self.sampling = sampling
    }

    /// The traced series of a one-label family.
    public func labels(_ value: String) -> TracedSeries<Series> {
        TracedSeries(family.labels(value), sampling: sampling)
    }

    /// The traced series of a two-label family.
    public func labels(_ first: String, _ second: String) -> TracedSeries<Series> {
        TracedSeries(family.labels(first, second), sampling: sampling)
    }

    /// The traced series of a three-label family.
    public func labels(_ first: String, _ second: String, _ third: String) -> TracedSeries<Series> {
        TracedSeries(family.labels(first, second, third), sampling: sampling)
    }

    /// The traced series for `values`, in the order of the family's label names.
    public func labels(_ values: [String]) -> TracedSeries<Series> {
        TracedSeries(family.labels(values), sampling: sampling)
    }
}

extension Counter {
    /// This counter with exemplars from the current trace (see ``TracedSeries``).
    public func exemplarsFromTrace(_ sampling: ExemplarSampling = .default) -> TracedSeries<Counter> {
        TracedSeries(self, sampling: sampling)
    }
}

extension Histogram {
    /// This histogram with exemplars from the current trace (see ``TracedSeries``).
    public func exemplarsFromTrace(_ sampling: ExemplarSampling = .default) -> TracedSeries<Histogram> {
        TracedSeries(self, sampling: sampling)
    }
}

extension MetricFamily where Series == Counter {
    /// This family with exemplars from the current trace on each series (see ``TracedFamily``).
    public func exemplarsFromTrace(_ sampling: ExemplarSampling = .default) -> TracedFamily<Counter> {
        TracedFamily(self, sampling: sampling)
    }
}

extension MetricFamily where Series == Histogram {
    /// This family with exemplars from the current trace on each series (see ``TracedFamily``).
    public func exemplarsFromTrace(_ sampling: ExemplarSampling = .default) -> TracedFamily<Histogram> {
        TracedFamily(self, sampling: sampling)
    }
}
