/// The rate limit behind exemplars taken from the current trace (MetricsKitTracing): each
/// series grants at most one attempt per interval, so the calls in between pay two atomic
/// loads and a comparison, not a context lookup and a label set.
extension MetricSeries {
    /// Claims this series' exemplar attempt for `now` (monotonic nanoseconds): true for at most
    /// one caller per `interval` nanoseconds, which then records an exemplar or gives up.
    /// The first claim allocates the series' exemplar slots (`slotCount`), as a first exemplar
    /// would.
    @inline(__always)
    final func claimExemplarAttempt(now: UInt64, interval: UInt64, slotCount: Int) -> Bool {
        let slots = exemplars(creatingWith: slotCount)
        let due = slots.nextAttempt.load(ordering: .relaxed)
        guard now >= due else { return false }
        return slots.nextAttempt.compareExchange(expected: due, desired: now &+ interval, ordering: .relaxed).exchanged
    }
}

extension Counter {
    /// Claims the counter's exemplar attempt for `now` (see `MetricSeries.claimExemplarAttempt`).
    package func claimExemplarAttempt(now: UInt64, interval: UInt64) -> Bool {
        claimExemplarAttempt(now: now, interval: interval, slotCount: 1)
    }
}

extension Histogram {
    /// Claims the histogram's exemplar attempt for `now`: one per series, whichever bucket
    /// the observation falls in (see `MetricSeries.claimExemplarAttempt`).
    package func claimExemplarAttempt(now: UInt64, interval: UInt64) -> Bool {
        claimExemplarAttempt(now: now, interval: interval, slotCount: layout.bucketCount)
    }
}
