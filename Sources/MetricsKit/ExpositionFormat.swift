/// The formats a registry renders.
public enum ExpositionFormat: Sendable, Hashable, CaseIterable {
    /// Prometheus text format 0.0.4: what every Prometheus understands.
    case prometheusText
    /// OpenMetrics 1.0 text: counters as `<family>_total`, `_created` samples, exemplars,
    /// `# EOF` at the end.
    case openMetrics
    /// The Prometheus protobuf format (`io.prometheus.client.MetricFamily` messages, each
    /// prefixed by its varint length): the only format that carries native histograms.
    case protobuf

    /// The Content-Type of a body in this format.
    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        case .protobuf: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        }
    }

    /// Picks the format to answer a scrape with from its `Accept` header, as Prometheus 2 and 3
    /// send it (`application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1`):
    /// the acceptable format with the highest q-value, OpenMetrics on a tie; text 0.0.4 for
    /// `*/*`, for no header, or when nothing listed is supported. Protobuf only when the header
    /// names it (`application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`,
    /// as Prometheus sends with `--enable-feature=native-histograms`), and it wins a tie.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept, !accept.isEmpty else { return .prometheusText }
        var best: (format: ExpositionFormat, q: Double)?
        for range in accept.split(separator: ",") {
            let parameters = range.split(separator: ";").map { $0.trimmed.lowercased() }
            guard let mediaType = parameters.first else { continue }
            let q = QualityValue.of(parameters: parameters.dropFirst())
            var version: String?
            var proto: String?
            var encoding: String?
            for parameter in parameters.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmed }
                guard pair.count == 2 else { continue }
                if pair[0] == "version" { version = pair[1] }
                if pair[0] == "proto" { proto = pair[1] }
                if pair[0] == "encoding" { encoding = pair[1] }
            }
            guard q > 0 else { continue }
            let format: ExpositionFormat?
            switch mediaType {
            case "application/openmetrics-text":
                format = version == nil || version == "1.0.0" || version == "0.0.1" ? .openMetrics : nil
            case "text/plain":
                format = version == nil || version == "0.0.4" ? .prometheusText : nil
            case "application/vnd.google.protobuf":
                format = proto == "io.prometheus.client.metricfamily" && encoding == "delimited" ? .protobuf : nil
            case "*/*", "text/*":
                format = .prometheusText
            default:
                format = nil
            }
            guard let format else { continue }
            if let current = best {
                if q > current.q || (q == current.q && format.winsTie(over: current.format)) {
                    best = (format, q)
                }
            } else {
                best = (format, q)
            }
        }
        return best?.format ?? .prometheusText
    }
}

extension ExpositionFormat {
    /// Between equally acceptable formats: protobuf, then OpenMetrics, then text 0.0.4.
    fileprivate func winsTie(over other: ExpositionFormat) -> Bool {
        func rank(_ format: ExpositionFormat) -> Int {
            switch format {
            case .protobuf: 2
            case .openMetrics: 1
            case .prometheusText: 0
            }
        }
        return rank(self) > rank(other)
    }
}
