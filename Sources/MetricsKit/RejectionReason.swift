/// Why a run-time update was refused (see ``MetricRegistry`` for the self-metric that counts them).
enum RejectionReason: Int, CaseIterable {
    /// A new label set was asked for while the family already held its series limit.
    case seriesLimit
    /// `labels(...)` was called with the wrong number of values.
    case labelCount
    /// A counter increment that was negative, NaN or infinite; a NaN or infinite histogram
    /// observation; a non-finite gauge increment; a callback counter that returned such a value.
    case invalidValue
    /// An exemplar whose label set was malformed or over 128 characters (the update counted).
    case invalidExemplar

    var label: String {
        switch self {
        case .seriesLimit: "series_limit"
        case .labelCount: "label_count"
        case .invalidValue: "invalid_value"
        case .invalidExemplar: "invalid_exemplar"
        }
    }
}
