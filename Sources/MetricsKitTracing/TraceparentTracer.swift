import MetricsKit
import Tracing

/// A minimal W3C Trace Context tracer: spans get random ids, a child keeps its parent's trace
/// id, `traceparent` is read from incoming carriers and written to outgoing ones, and nothing
/// is recorded or exported.
///
/// For a service that has no tracing backend yet but wants exemplars (and log correlation)
/// with the trace ids its callers send, and for tests. With a real tracer (swift-otel)
/// installed instead, exemplars work the same: ``TraceExemplar`` reads any tracer's
/// `traceparent`.
///
/// ```swift
/// InstrumentationSystem.bootstrap(TraceparentTracer())
/// ```
public struct TraceparentTracer: Tracer {
    /// The trace flags of a trace this tracer starts (one without a parent): `01`, sampled, by
    /// default.
    public let rootFlags: UInt8

    /// A tracer whose new traces are sampled unless `sampleNewTraces` is false.
    public init(sampleNewTraces: Bool = true) {
        rootFlags = sampleNewTraces ? 1 : 0
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> Span {
        var context = context()
        let parent = context.traceparentIDs
        context.traceparentIDs = TraceparentIDs(
            traceID: parent?.traceID ?? TraceparentIDs.randomHex(digits: 32),
            spanID: TraceparentIDs.randomHex(digits: 16), flags: parent?.flags ?? rootFlags)
        return Span(context: context, operationName: operationName)
    }

    public func forceFlush() {}

    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let ids = context.traceparentIDs else { return }
        injector.inject(ids.header, forKey: "traceparent", into: &carrier)
    }

    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier), let parsed = Traceparent(header)
        else { return }
        context.traceparentIDs = TraceparentIDs(traceID: parsed.traceID, spanID: parsed.spanID, flags: parsed.flags)
    }

    /// A span of ``TraceparentTracer``: its context carries the ids; it records nothing.
    public struct Span: Tracing.Span {
        public let context: ServiceContext
        /// The name given at start (renaming is ignored: nothing is recorded).
        public var operationName: String {
            get { name }
            nonmutating set {}
        }
        private let name: String

        init(context: ServiceContext, operationName: String) {
            self.context = context
            self.name = operationName
        }

        /// False: nothing is recorded.
        public var isRecording: Bool { false }
        public var attributes: SpanAttributes {
            get { [:] }
            nonmutating set {}
        }
        public func setStatus(_ status: SpanStatus) {}
        public func addEvent(_ event: SpanEvent) {}
        public func addLink(_ link: SpanLink) {}
        public func recordError<Instant: TracerInstant>(
            _ error: Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
        ) {}
        public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {}
    }
}

/// The ids a ``TraceparentTracer`` span carries in its `ServiceContext`.
struct TraceparentIDs: Sendable {
    var traceID: String
    var spanID: String
    var flags: UInt8

    /// `00-<trace id>-<span id>-<flags>`.
    var header: String {
        let flagText = String(flags, radix: 16)
        return "00-\(traceID)-\(spanID)-\(flags < 16 ? "0" : "")\(flagText)"
    }

    /// `digits` random lowercase hex digits, not all zero.
    static func randomHex(digits: Int) -> String {
        var text = ""
        while text.count < digits {
            let word = UInt64.random(in: 1...UInt64.max)
            let hex = String(word, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return String(text.prefix(digits))
    }
}

private enum TraceparentIDsKey: ServiceContextKey {
    typealias Value = TraceparentIDs
}

extension ServiceContext {
    fileprivate var traceparentIDs: TraceparentIDs? {
        get { self[TraceparentIDsKey.self] }
        set { self[TraceparentIDsKey.self] = newValue }
    }
}
