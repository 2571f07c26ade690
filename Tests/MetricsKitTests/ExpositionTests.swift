import Testing

@testable import MetricsKit

@Suite("Text exposition 0.0.4")
struct ExpositionTests {
    private func formatted(_ value: Double) -> String {
        String(decoding: ByteSink.bytes { TextWriter.append(value, to: &$0) }, as: UTF8.self)
    }

    @Test func numbers() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (42, "42"), (1e6, "1000000"),
            (9_007_199_254_740_991, "9007199254740991"), (9_007_199_254_740_992, "9.007199254740992e+15"),
            (0.1, "0.1"), (0.25, "0.25"), (-2.5, "-2.5"), (1e-5, "1e-05"), (0.0001, "0.0001"),
            (0.00012345, "0.00012345"), (1e-300, "1e-300"), (1.5e300, "1.5e+300"), (123456.5, "123456.5"),
            (1234567.5, "1.2345675e+06"), (1e21, "1e+21"), (0.30000000000000004, "0.30000000000000004"),
            (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"), (.leastNonzeroMagnitude, "5e-324"),
            (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (3.14159, "3.14159"),
        ]
        for (value, expected) in cases {
            #expect(formatted(value) == expected, "formatting \(value)")
        }
    }

    @Test func runtimeFormatterIsUsable() {
        // If this fails, formatting still works (through `description`) but allocates.
        #expect(TextWriter.runtimeFormatterAgrees)
    }

    @Test func shortestTextRoundTrips() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let value = Double(bitPattern: generator.next())
            guard value.isFinite else { continue }
            let text = formatted(value)
            #expect(Double(text) == value, "\(value) written as \(text)")
            #expect(text.utf8.count <= value.description.utf8.count + 4, "\(text) is not shortest")
        }
    }

    @Test func integersUpTo64Bits() {
        for value: UInt64 in [0, 7, 9, 10, 99, 100, 12345, 999_999_999, 1_000_000_000, UInt64.max] {
            let text = String(decoding: ByteSink.bytes { TextWriter.append(value, to: &$0) }, as: UTF8.self)
            #expect(text == String(value))
        }
    }

    @Test func helpEscapesBackslashAndNewlineOnly() throws {
        let registry = MetricRegistry()
        _ = try registry.gauge("g", help: "a \\ b\nc \"quoted\"\ttab")
        #expect(registry.render().hasPrefix("# HELP g a \\\\ b\\nc \"quoted\"\ttab\n# TYPE g gauge\n"))
    }

    @Test func labelValuesEscapeBackslashQuoteNewlineAndKeepUTF8() throws {
        let registry = MetricRegistry()
        let family = try registry.gauge("g", help: "G.", labelNames: ["v"])
        family.labels("a\"b").set(1)
        family.labels("c\\d").set(2)
        family.labels("e\nf").set(3)
        family.labels("🚀 é\t").set(4)
        family.labels("").set(5)
        let text = registry.render()
        #expect(
            text == """
                # HELP g G.
                # TYPE g gauge
                g{v=""} 5
                g{v="a\\"b"} 1
                g{v="c\\\\d"} 2
                g{v="e\\nf"} 3
                g{v="🚀 é\t"} 4

                """)
    }

    @Test func familiesSortByNameAndSeriesByLabelValues() throws {
        let registry = MetricRegistry()
        let b = try registry.counter("b_total", help: "B.", labelNames: ["x", "y"])
        let a = try registry.gauge("a", help: "A.")
        for (x, y) in [("2", "a"), ("10", "b"), ("1", "z"), ("1", "a"), ("B", "a"), ("a", "a")] {
            b.labels(x, y).increment()
        }
        a.set(1)
        #expect(
            registry.render() == """
                # HELP a A.
                # TYPE a gauge
                a 1
                # HELP b_total B.
                # TYPE b_total counter
                b_total{x="1",y="a"} 1
                b_total{x="1",y="z"} 1
                b_total{x="10",y="b"} 1
                b_total{x="2",y="a"} 1
                b_total{x="B",y="a"} 1
                b_total{x="a",y="a"} 1

                """)
    }

    @Test func outputIsDeterministicAcrossRegistries() throws {
        func build() throws -> String {
            let registry = MetricRegistry()
            for name in ["m3", "m1", "m2", "m0"] {
                let family = try registry.counter(name + "_total", help: "x", labelNames: ["k"])
                for i in (0..<30).reversed() { family.labels("v\(i * 7 % 30)").increment(by: i) }
            }
            return registry.render()
        }
        #expect(try build() == build())
    }

    @Test func familyWithoutSeriesRendersHeaderOnly() throws {
        let registry = MetricRegistry()
        _ = try registry.histogram("empty_seconds", help: "Nothing yet.", labelNames: ["op"])
        #expect(registry.render() == "# HELP empty_seconds Nothing yet.\n# TYPE empty_seconds histogram\n")
    }

    @Test func renderAppendsToAReusedBuffer() throws {
        let registry = MetricRegistry()
        try registry.counter("c_total", help: "C.").increment()
        var buffer = Array("prefix\n".utf8)
        registry.render(into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "prefix\n# HELP c_total C.\n# TYPE c_total counter\nc_total 1\n")
        #expect(MetricRegistry.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(MetricRegistry().render() == "")
    }
}
