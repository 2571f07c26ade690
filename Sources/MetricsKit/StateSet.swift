import Synchronization

/// A set of named states, each on or off: a job's phase, a feature's mode, a circuit
/// breaker's position.
///
/// ```swift
/// let breaker = try registry.stateSet("payment_circuit", help: "The payment circuit breaker.",
///                                     states: ["closed", "half_open", "open"])
/// breaker.set("open")                 // open on, the others off
/// breaker.set("half_open", to: true)  // turns one on, leaves the others as they are
/// ```
///
/// Rendered as one sample per state, labeled with the metric's own name and valued 1 or 0:
/// `payment_circuit{payment_circuit="open"} 1`. OpenMetrics types the family `stateset`;
/// text 0.0.4 and protobuf have no such type and carry the same samples as a gauge.
///
/// The states are fixed at registration (at most 64) and kept as bits in one atomic word, so
/// every update is a single atomic operation. A state name that is not one of ``states`` is
/// refused and counted as `invalid_value` in `metricskit_rejected_updates_total`; it never traps.
public final class StateSet: MetricSeries, @unchecked Sendable {
    @usableFromInline let bits = Atomic<UInt64>(0)
    /// The label text of each state's sample: the series' labels and `<name>="<state>"`.
    private let stateLabels: [[UInt8]]

    override init(descriptor: FamilyDescriptor, labelValues: [String]) {
        let labels = descriptor.labelText(for: labelValues)
        stateLabels = descriptor.states.map { state in
            ByteSink.bytes { text in
                text.append(labels)
                if !labels.isEmpty { text.append(UInt8(ascii: ",")) }
                text.append(descriptor.name)
                text.append(Array(#"=""#.utf8))
                TextWriter.appendEscapedLabelValue(state, to: &text)
                text.append(UInt8(ascii: "\""))
            }
        }
        super.init(descriptor: descriptor, labelValues: labelValues)
    }

    /// The states, in the order they are rendered.
    public var states: [String] { descriptor.states }

    /// Turns `state` on and every other state off (the set used as an enum).
    public func set(_ state: String) {
        guard let index = index(of: state) else { return rejectInvalidValue() }
        bits.store(1 << UInt64(index), ordering: .relaxed)
    }

    /// Turns `state` on or off, leaving the other states as they are.
    public func set(_ state: String, to enabled: Bool) {
        guard let index = index(of: state) else { return rejectInvalidValue() }
        let bit: UInt64 = 1 << UInt64(index)
        if enabled {
            bits.bitwiseOr(bit, ordering: .relaxed)
        } else {
            bits.bitwiseAnd(~bit, ordering: .relaxed)
        }
    }

    /// Whether `state` is on (false for a name that is not one of ``states``).
    public func isSet(_ state: String) -> Bool {
        guard let index = index(of: state) else { return false }
        return bits.load(ordering: .relaxed) & (1 << UInt64(index)) != 0
    }

    /// The states that are on, in the order of ``states``.
    public var enabledStates: [String] {
        let current = bits.load(ordering: .relaxed)
        return states.enumerated().filter { current & (1 << UInt64($0.offset)) != 0 }.map(\.element)
    }

    private func index(of state: String) -> Int? {
        descriptor.states.firstIndex(of: state)
    }

    override func visit<V: SampleVisitor>(_ visitor: inout V) {
        let current = bits.load(ordering: .relaxed)
        for (index, labels) in stateLabels.enumerated() {
            let on: UInt64 = current >> UInt64(index) & 1
            labels.withUnsafeBufferPointer { visitor.visit(Sample(labels: $0, value: Double(on), integer: on)) }
        }
    }
}

extension MetricRegistry {
    /// The most states a ``StateSet`` holds (one bit of an atomic word each).
    public static let maxStateCount = 64

    /// Registers (or returns the already registered) state set without variable labels.
    /// - Parameters:
    ///   - name: the metric name, also the label naming each state, so `[a-zA-Z_][a-zA-Z0-9_]*`
    ///     (no colons).
    ///   - help: the HELP text.
    ///   - states: the state names, unique and not empty, at most ``maxStateCount``; all off at first.
    ///   - constLabels: labels with the same value on every sample.
    public func stateSet(
        _ name: String, help: String, states: [String], constLabels: [String: String] = [:]
    ) throws(MetricsKitError) -> StateSet {
        try stateSet(name, help: help, states: states, labelNames: [], constLabels: constLabels).labels([])
    }

    /// Registers (or returns the already registered) labeled state set family: one ``StateSet``
    /// per label set.
    /// - Parameters:
    ///   - name: the metric name, also the label naming each state, so `[a-zA-Z_][a-zA-Z0-9_]*`
    ///     (no colons); not one of `labelNames`.
    ///   - help: the HELP text.
    ///   - states: the state names, unique and not empty, at most ``maxStateCount``; all off at first.
    ///   - labelNames: the variable label names, in the order `labels(...)` takes their values.
    ///   - constLabels: labels with the same value on every sample.
    ///   - seriesLimit: the most state sets the family holds (default: the registry's).
    public func stateSet(
        _ name: String, help: String, states: [String], labelNames: [String], constLabels: [String: String] = [:],
        seriesLimit: Int? = nil
    ) throws(MetricsKitError) -> MetricFamily<StateSet> {
        guard Names.isValidLabelName(name) else {
            throw MetricsKitError(
                .invalidMetricName, metric: name,
                reason: "a state set's name is also its state label, so it must match [a-zA-Z_][a-zA-Z0-9_]*")
        }
        if labelNames.contains(name) || constLabels[name] != nil {
            throw MetricsKitError(
                .reservedLabelName, metric: name, reason: "label name \"\(name)\" is reserved for the state set's states")
        }
        guard !states.isEmpty, states.count <= Self.maxStateCount else {
            throw MetricsKitError(
                .invalidParameter, metric: name, reason: "a state set has 1 to \(Self.maxStateCount) states, not \(states.count)")
        }
        if let empty = states.firstIndex(of: "") {
            throw MetricsKitError(.invalidParameter, metric: name, reason: "state \(empty) is empty")
        }
        if Set(states).count != states.count {
            let twice = states.first { state in states.filter { $0 == state }.count > 1 }!
            throw MetricsKitError(.invalidParameter, metric: name, reason: "state \"\(twice)\" is listed twice")
        }
        return try family(
            name, help: help, type: .stateset, labelNames: labelNames, constLabels: constLabels, states: states,
            seriesLimit: seriesLimit
        ) { d, values in StateSet(descriptor: d, labelValues: values) }
    }
}
