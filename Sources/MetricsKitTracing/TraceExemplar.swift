import MetricsKit
import Tracing

/// The exemplar of the current trace, read through the installed tracer.
///
/// Tracer-agnostic: the current `ServiceContext` is injected, by whatever instrument
/// `InstrumentationSystem` has (swift-otel, ``TraceparentTracer``, a multiplex of them), into a
/// carrier that keeps only the W3C `traceparent` value, which is then parsed. No tracer type is
/// named, so any tracer that propagates W3C Trace Context works.
public enum TraceExemplar {
    /// `["trace_id": …, "span_id": …]` of the span the current task runs in, or nil outside a
    /// span, when the tracer injects no valid `traceparent`, or (when `requireSampled`) when the
    /// trace is not sampled.
    ///
    /// ```swift
    /// histogram.observe(seconds, exemplar: TraceExemplar.current() ?? [:])
    /// ```
    public static func current(requireSampled: Bool = true) -> [String: String]? {
        guard let context = ServiceContext.current else { return nil }
        return labels(of: context, requireSampled: requireSampled)
    }

    /// The exemplar labels of `context`'s span (see ``current(requireSampled:)``).
    public static func labels(of context: ServiceContext, requireSampled: Bool = true) -> [String: String]? {
        var carrier = TraceparentCarrier()
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: TraceparentCarrier.Injector())
        guard let value = carrier.traceparent, let parsed = Traceparent(value) else { return nil }
        guard parsed.sampled || !requireSampled else { return nil }
        return parsed.exemplarLabels
    }
}

/// A carrier that keeps the `traceparent` an instrument injects and drops the rest
/// (`tracestate`, baggage).
struct TraceparentCarrier: Sendable {
    var traceparent: String?

    struct Injector: Instrumentation.Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout TraceparentCarrier) {
            if TraceparentCarrier.isTraceparent(key) { carrier.traceparent = value }
        }
    }

    /// Whether `key` is `traceparent`, in any case (HTTP header names are case-insensitive).
    static func isTraceparent(_ key: String) -> Bool {
        key.utf8.count == 11 && key.utf8.elementsEqual("traceparent".utf8) { $0 | 0x20 == $1 }
    }
}
