import Foundation
import MetricsKit
import MetricsKitTesting
import Testing
import TestSupport

/// `lint()` against `promtool check metrics` on the same bodies: the same findings, line for line.
@Suite struct LintTests {
    /// Bodies covering each promlint rule, and clean ones.
    static let bodies: [String] = [
        // Each rule once.
        """
        # HELP fooMs x
        # TYPE fooMs counter
        fooMs 1
        # TYPE a_bucket gauge
        a_bucket{le="1"} 1
        # HELP x_milliseconds_total y
        # TYPE x_milliseconds_total counter
        x_milliseconds_total 2
        # HELP b:c_total z
        # TYPE b:c_total counter
        b:c_total{myLabel="x"} 3
        # HELP gauge_counter_total z
        # TYPE gauge_counter_total counter
        gauge_counter_total 1
        # HELP q_sum z
        # TYPE q_sum gauge
        q_sum{quantile="0.5"} 1
        # HELP q_count z
        # TYPE q_count gauge
        q_count 1
        # HELP d_histogram_seconds h
        # TYPE d_histogram_seconds histogram
        d_histogram_seconds_bucket{le="+Inf"} 1
        d_histogram_seconds_sum 1
        d_histogram_seconds_count 1
        # HELP sz_kb k
        # TYPE sz_kb gauge
        sz_kb 1
        # HELP up_total g
        # TYPE up_total gauge
        up_total 1
        # HELP k_kelvins x
        # TYPE k_kelvins gauge
        k_kelvins 1
        # HELP temp_fahrenheit x
        # TYPE temp_fahrenheit gauge
        temp_fahrenheit 1
        # HELP w_gauge_histogram x
        # TYPE w_gauge_histogram gauge
        w_gauge_histogram 1
        # HELP s_summary_seconds x
        # TYPE s_summary_seconds summary
        s_summary_seconds{quantile="0.5"} 1
        s_summary_seconds_sum 1
        s_summary_seconds_count 1
        """,
        // Repeats per series, untyped families, a family without HELP.
        """
        # HELP a_total x
        # TYPE a_total counter
        a_total{myLabel="x"} 1
        a_total{myLabel="y"} 1
        # HELP lat_seconds x
        # TYPE lat_seconds histogram
        lat_seconds_bucket{pathName="/",le="1"} 1
        lat_seconds_bucket{pathName="/",le="+Inf"} 1
        lat_seconds_sum{pathName="/"} 1
        lat_seconds_count{pathName="/"} 1
        lat_seconds_bucket{pathName="/x",le="+Inf"} 1
        lat_seconds_sum{pathName="/x"} 1
        lat_seconds_count{pathName="/x"} 1
        # HELP u untyped
        u_total 1
        plain_bytes 3
        # HELP size_bits_total x
        # TYPE size_bits_total counter
        size_bits_total 1
        """,
        // Clean.
        """
        # HELP http_requests_total Requests.
        # TYPE http_requests_total counter
        http_requests_total{method="GET"} 1
        # HELP http_request_duration_seconds Latency.
        # TYPE http_request_duration_seconds histogram
        http_request_duration_seconds_bucket{le="+Inf"} 1
        http_request_duration_seconds_sum 0.1
        http_request_duration_seconds_count 1
        """,
    ]

    /// promtool's findings for `body`: its output lines (`name text`), sorted as it sorts them.
    static func promtoolFindings(_ body: String) throws -> [String] {
        guard let promtool = TestTools.find("promtool") else {
            Issue.record("promtool not found: install Debian's prometheus package (make deps-test does)")
            return []
        }
        let (status, output) = try TestTools.run(promtool, ["check", "metrics"], input: body + "\n")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(status == (lines.isEmpty ? 0 : 3), "promtool: \(output)")
        return lines
    }

    @Test(arguments: 0..<bodies.count)
    func findsWhatPromtoolFinds(_ index: Int) throws {
        let body = Self.bodies[index]
        let ours = try Exposition(body).lint().map(\.description)
        let promtool = try Self.promtoolFindings(body)
        #expect(ours == promtool)
        #expect(index == 2 ? ours.isEmpty : ours.count >= 5, "\(ours)")
    }

    @Test func aRegistryWithLintProblemsIsReportedAsPromtoolReportsIt() throws {
        let registry = MetricRegistry()
        try registry.counter("cache_hits_total", help: "Hits.").increment()
        try registry.gauge("cache_size_kilobytes", help: "Size.").set(3)
        try registry.histogram("fetch_latency_ms", help: "Latency.", buckets: [1, 10]).observe(2)
        let ours = try registry.lint().map(\.description)
        #expect(ours == (try Self.promtoolFindings(registry.render())))
        #expect(ours.contains("fetch_latency_ms metric names should not contain abbreviated units"))
        #expect(ours.contains("cache_size_kilobytes use base unit \"bytes\" instead of \"kilobytes\""))
    }
}
