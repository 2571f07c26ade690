/// Name rules of the Prometheus data model.
package enum Names {
    static func isValidMetricName(_ name: String) -> Bool {
        isValidName(name, allowingColon: true)
    }

    package static func isValidLabelName(_ name: String) -> Bool {
        isValidName(name, allowingColon: false)
    }

    /// `[a-zA-Z_(:)][a-zA-Z0-9_(:)]*`.
    private static func isValidName(_ name: String, allowingColon: Bool) -> Bool {
        var first = true
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
                break
            case UInt8(ascii: ":") where allowingColon:
                break
            case UInt8(ascii: "0")...UInt8(ascii: "9") where !first:
                break
            default:
                return false
            }
            first = false
        }
        return !first
    }

    static func validateMetricName(_ name: String) throws(MetricsKitError) {
        guard isValidMetricName(name) else {
            throw MetricsKitError(
                .invalidMetricName, metric: name,
                reason: "invalid metric name; names must match [a-zA-Z_:][a-zA-Z0-9_:]*")
        }
    }

    /// Checks variable and constant label names together.
    static func validateLabelNames(
        _ labelNames: [String], constLabels: [String: String], metric: String, type: MetricType
    ) throws(MetricsKitError) {
        var seen = Set<String>()
        for label in labelNames + constLabels.keys.sorted() {
            guard isValidLabelName(label) else {
                throw MetricsKitError(
                    .invalidLabelName, metric: metric,
                    reason: "invalid label name \"\(label)\"; label names must match [a-zA-Z_][a-zA-Z0-9_]*")
            }
            if label.hasPrefix("__") {
                throw MetricsKitError(
                    .reservedLabelName, metric: metric,
                    reason: "label name \"\(label)\" is reserved: names starting with __ belong to Prometheus")
            }
            if label == "le" && type == .histogram {
                throw MetricsKitError(
                    .reservedLabelName, metric: metric,
                    reason: "label name \"le\" is reserved in histograms for the bucket bound")
            }
            if label == "quantile" {
                throw MetricsKitError(
                    .reservedLabelName, metric: metric,
                    reason: "label name \"quantile\" is reserved for summary quantiles")
            }
            guard seen.insert(label).inserted else {
                throw MetricsKitError(
                    .duplicateLabelName, metric: metric, reason: "label name \"\(label)\" is used twice")
            }
        }
    }
}
