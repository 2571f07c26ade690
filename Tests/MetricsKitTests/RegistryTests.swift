import Testing

@testable import MetricsKit

@Suite("Registration errors")
struct RegistrationErrorTests {
    private func expectError(
        _ kind: MetricsKitError.Kind, metric: String, mentioning fragment: String,
        sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected \(kind) for \(metric)", sourceLocation: sourceLocation)
        } catch let error as MetricsKitError {
            #expect(error.kind == kind, sourceLocation: sourceLocation)
            #expect(error.metric == metric, sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("metric \"\(metric)\": "), sourceLocation: sourceLocation)
            #expect(error.description.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a MetricsKitError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["", "1abc", "a-b", "a b", "é", "http.requests"])
    func invalidMetricNames(name: String) {
        expectError(.invalidMetricName, metric: name, mentioning: "[a-zA-Z_:]") {
            _ = try MetricRegistry().counter(name, help: "x")
        }
    }

    @Test(arguments: ["a", "_x", "a:b", "ns:sub_total", "A9"])
    func validMetricNames(name: String) throws {
        let registry = MetricRegistry()
        try registry.counter(name, help: "x").increment()
        #expect(registry.render().split(separator: "\n").contains("\(name) 1"[...]), "\(registry.render())")
    }

    @Test func invalidLabelNames() {
        for label in ["", "1a", "a:b", "a-b", "é"] {
            expectError(.invalidLabelName, metric: "m_total", mentioning: "\"\(label)\"") {
                _ = try MetricRegistry().counter("m_total", help: "x", labelNames: [label])
            }
        }
        expectError(.invalidLabelName, metric: "m_total", mentioning: "\"a-b\"") {
            _ = try MetricRegistry().counter("m_total", help: "x", constLabels: ["a-b": "1"])
        }
    }

    @Test func reservedLabelNames() {
        expectError(.reservedLabelName, metric: "m_total", mentioning: "__name") {
            _ = try MetricRegistry().counter("m_total", help: "x", labelNames: ["__name"])
        }
        expectError(.reservedLabelName, metric: "h_seconds", mentioning: "\"le\"") {
            _ = try MetricRegistry().histogram("h_seconds", help: "x", labelNames: ["le"])
        }
        expectError(.reservedLabelName, metric: "h_seconds", mentioning: "\"le\"") {
            _ = try MetricRegistry().histogram("h_seconds", help: "x", constLabels: ["le": "1"])
        }
        expectError(.reservedLabelName, metric: "g", mentioning: "quantile") {
            _ = try MetricRegistry().gauge("g", help: "x", labelNames: ["quantile"])
        }
    }

    @Test func leIsAllowedOutsideHistograms() throws {
        let registry = MetricRegistry()
        try registry.gauge("g", help: "x", labelNames: ["le"]).labels("0.5").set(2)
        #expect(registry.render().contains("\ng{le=\"0.5\"} 2\n"), "\(registry.render())")
    }

    @Test func duplicateLabelNames() {
        expectError(.duplicateLabelName, metric: "m_total", mentioning: "\"a\"") {
            _ = try MetricRegistry().counter("m_total", help: "x", labelNames: ["a", "a"])
        }
        expectError(.duplicateLabelName, metric: "m_total", mentioning: "\"a\"") {
            _ = try MetricRegistry().counter("m_total", help: "x", labelNames: ["a"], constLabels: ["a": "1"])
        }
    }

    @Test func invalidBuckets() {
        let cases: [([Double], String)] = [
            ([1, 0.5], "sorted"), ([1, 1], "twice"), ([.nan], "not finite"), ([-.infinity, 1], "not finite"),
            ([1, .infinity, 2], "not finite"),
        ]
        for (buckets, fragment) in cases {
            expectError(.invalidBuckets, metric: "h_seconds", mentioning: fragment) {
                _ = try MetricRegistry().histogram("h_seconds", help: "x", buckets: buckets)
            }
        }
    }

    @Test func invalidSeriesLimit() {
        expectError(.invalidParameter, metric: "m_total", mentioning: "series limit") {
            _ = try MetricRegistry().counter("m_total", help: "x", labelNames: ["a"], seriesLimit: 0)
        }
    }

    @Test func sameDefinitionReturnsTheSameMetric() throws {
        let registry = MetricRegistry()
        let a = try registry.counter("c_total", help: "C.", labelNames: ["x"], constLabels: ["k": "v"])
        let b = try registry.counter("c_total", help: "C.", labelNames: ["x"], constLabels: ["k": "v"])
        #expect(a === b)
        let g1 = try registry.gauge("g", help: "G.")
        let g2 = try registry.gauge("g", help: "G.")
        #expect(g1 === g2)
        let h1 = try registry.histogram("h", help: "H.", buckets: [1, 2])
        let h2 = try registry.histogram("h", help: "H.", buckets: [1, 2])
        #expect(h1 === h2)
    }

    @Test func sameNameWithAnotherDefinitionThrows() throws {
        let registry = MetricRegistry()
        _ = try registry.counter("c_total", help: "C.", labelNames: ["x"])
        expectError(.conflictingRegistration, metric: "c_total", mentioning: "different definition") {
            _ = try registry.counter("c_total", help: "Other help.", labelNames: ["x"])
        }
        expectError(.conflictingRegistration, metric: "c_total", mentioning: "different definition") {
            _ = try registry.counter("c_total", help: "C.", labelNames: ["y"])
        }
        expectError(.conflictingRegistration, metric: "c_total", mentioning: "different definition") {
            _ = try registry.counter("c_total", help: "C.")
        }
        expectError(.conflictingRegistration, metric: "c_total", mentioning: "different definition") {
            _ = try registry.gauge("c_total", help: "C.", labelNames: ["x"])
        }
        _ = try registry.histogram("h", help: "H.", buckets: [1, 2])
        expectError(.conflictingRegistration, metric: "h", mentioning: "buckets") {
            _ = try registry.histogram("h", help: "H.", buckets: [1, 3])
        }
    }

    @Test func sampleNamesOfHistogramsAreReserved() throws {
        let registry = MetricRegistry()
        _ = try registry.histogram("rpc_seconds", help: "RPC.")
        expectError(.conflictingRegistration, metric: "rpc_seconds_count", mentioning: "\"rpc_seconds\"") {
            _ = try registry.counter("rpc_seconds_count", help: "x")
        }
        _ = try registry.gauge("q_sum", help: "x")
        expectError(.conflictingRegistration, metric: "q", mentioning: "q_sum") {
            _ = try registry.histogram("q", help: "x")
        }
    }

    @Test func counterClaimsItsOpenMetricsFamilyName() throws {
        // OpenMetrics would show two `# TYPE foo` families otherwise.
        let registry = MetricRegistry()
        _ = try registry.counter("foo_total", help: "x")
        expectError(.conflictingRegistration, metric: "foo", mentioning: "\"foo_total\"") {
            _ = try registry.gauge("foo", help: "x")
        }
        expectError(.conflictingRegistration, metric: "foo_created", mentioning: "\"foo_total\"") {
            _ = try registry.gauge("foo_created", help: "x")
        }
        _ = try registry.gauge("bar", help: "x")
        expectError(.conflictingRegistration, metric: "bar_total", mentioning: "bar") {
            _ = try registry.counter("bar_total", help: "x")
        }
    }

    @Test func selfMetricNameIsReserved() {
        expectError(.conflictingRegistration, metric: "metricskit_rejected_updates_total", mentioning: "already") {
            _ = try MetricRegistry().counter("metricskit_rejected_updates_total", help: "x")
        }
    }

    @Test func callbackRegisteredTwiceThrows() throws {
        let registry = MetricRegistry()
        try registry.gauge("open_fds", help: "x") { 1 }
        expectError(.conflictingRegistration, metric: "open_fds", mentioning: "already") {
            try registry.gauge("open_fds", help: "x") { 2 }
        }
    }
}

@Suite("Registry")
struct RegistryTests {
    @Test func unregisterRemovesTheFamilyAndFreesTheName() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("c_total", help: "C.")
        counter.increment()
        #expect(registry.unregister("c_total"))
        #expect(!registry.unregister("c_total"))
        #expect(!registry.render().contains("c_total"))
        counter.increment()  // still safe to use
        let gauge = try registry.gauge("c_total", help: "Now a gauge.")
        gauge.set(2)
        #expect(registry.render().contains("# TYPE c_total gauge\nc_total 2\n"))
    }

    @Test func unregisterFreesHistogramSampleNames() throws {
        let registry = MetricRegistry()
        _ = try registry.histogram("h", help: "H.")
        #expect(registry.unregister("h"))
        _ = try registry.counter("h_count", help: "x")
    }

    @Test func defaultRegistryIsShared() throws {
        let a = try MetricRegistry.default.counter("metricskit_test_default_total", help: "x")
        let b = try MetricRegistry.default.counter("metricskit_test_default_total", help: "x")
        #expect(a === b)
        MetricRegistry.default.unregister("metricskit_test_default_total")
    }

    struct PoolCollector: Collector {
        var familyNames: [String] { ["pool_connections", "pool_waits_total"] }
        func collect() -> [CollectedFamily] {
            [
                CollectedFamily(
                    name: "pool_connections", help: "Connections by state.", type: .gauge,
                    samples: [
                        CollectedSample(labels: [("state", "idle")], value: 3),
                        CollectedSample(labels: [("state", "busy\n\"x\"")], value: 1),
                        CollectedSample(labels: [("__bad", "x")], value: 9),
                    ]),
                CollectedFamily(name: "pool_waits_total", help: "Waits.", type: .counter, samples: [.init(value: 12)]),
                CollectedFamily(name: "undeclared", help: "Not declared.", type: .gauge, samples: [.init(value: 1)]),
            ]
        }
    }

    @Test func collectorsRenderInNameOrderAndOnlyDeclaredFamilies() throws {
        let registry = MetricRegistry()
        _ = try registry.gauge("a_first", help: "A.")
        _ = try registry.gauge("z_last", help: "Z.")
        try registry.register(PoolCollector())
        let text = registry.render()
        #expect(
            text == """
                # HELP a_first A.
                # TYPE a_first gauge
                a_first 0
                # HELP pool_connections Connections by state.
                # TYPE pool_connections gauge
                pool_connections{state="idle"} 3
                pool_connections{state="busy\\n\\"x\\""} 1
                # HELP pool_waits_total Waits.
                # TYPE pool_waits_total counter
                pool_waits_total 12
                # HELP z_last Z.
                # TYPE z_last gauge
                z_last 0

                """)
        #expect(throws: MetricsKitError.self) { try registry.register(PoolCollector()) }
        #expect(throws: MetricsKitError.self) { _ = try registry.gauge("pool_connections", help: "x") }
        #expect(registry.unregister("pool_waits_total"))
        #expect(!registry.render().contains("pool_"))
        try registry.register(PoolCollector())
    }
}

@Suite("Labeled families")
struct FamilyTests {
    @Test func getOrCreateReturnsTheSameSeries() throws {
        let family = try MetricRegistry().counter("r_total", help: "R.", labelNames: ["method", "path", "status"])
        let a = family.labels("GET", "/", "200")
        let b = family.labels("GET", "/", "200")
        let c = family.labels(["GET", "/", "200"])
        #expect(a === b && b === c)
        #expect(family.labels("GET", "/", "404") !== a)
        #expect(family.seriesCount == 2)
        #expect(a.labelValues == ["GET", "/", "200"])
    }

    @Test func everyArityFindsItsSeries() throws {
        let registry = MetricRegistry()
        let one = try registry.gauge("g1", help: "x", labelNames: ["a"])
        #expect(one.labels("x") === one.labels(["x"]))
        let two = try registry.gauge("g2", help: "x", labelNames: ["a", "b"])
        #expect(two.labels("x", "y") === two.labels(["x", "y"]))
        let four = try registry.gauge("g4", help: "x", labelNames: ["a", "b", "c", "d"])
        #expect(four.labels("1", "2", "3", "4") === four.labels(["1", "2", "3", "4"]))
        let five = try registry.gauge("g5", help: "x", labelNames: ["a", "b", "c", "d", "e"])
        #expect(five.labels("1", "2", "3", "4", "5") === five.labels(["1", "2", "3", "4", "5"]))
        #expect(five.seriesCount == 1)
    }

    @Test func valuesThatConcatenateAlikeAreDifferentSeries() throws {
        let family = try MetricRegistry().counter("r_total", help: "R.", labelNames: ["a", "b"])
        #expect(family.labels("ab", "c") !== family.labels("a", "bc"))
        #expect(family.labels("", "") !== family.labels("", " "))
        #expect(family.seriesCount == 4)
    }

    @Test func wrongLabelCountIsRefusedAndCounted() throws {
        let registry = MetricRegistry()
        let family = try registry.counter("r_total", help: "R.", labelNames: ["method", "path"])
        family.labels("GET").increment()
        family.labels("GET", "/", "x").increment()
        #expect(family.seriesCount == 0)
        #expect(
            registry.render().contains(
                "metricskit_rejected_updates_total{metric=\"r_total\",reason=\"label_count\"} 2\n"))
    }

    @Test func seriesLimitRefusesNewSeriesButKeepsExistingOnes() throws {
        let registry = MetricRegistry()
        let family = try registry.counter("r_total", help: "R.", labelNames: ["path"], seriesLimit: 3)
        for path in ["/a", "/b", "/c"] { family.labels(path).increment() }
        for i in 0..<100 { family.labels("/attack/\(i)").increment() }
        family.labels("/a").increment()
        #expect(family.seriesCount == 3)
        #expect(family.labels("/a").value == 2)
        let text = registry.render()
        #expect(!text.contains("/attack"))
        #expect(text.contains("metricskit_rejected_updates_total{metric=\"r_total\",reason=\"series_limit\"} 100\n"))
        // Removing a series makes room again.
        #expect(family.remove("/b"))
        family.labels("/d").increment()
        #expect(family.seriesCount == 3)
    }

    @Test func registryDefaultSeriesLimitApplies() throws {
        let registry = MetricRegistry(defaultSeriesLimit: 2)
        let family = try registry.gauge("g", help: "G.", labelNames: ["x"])
        #expect(family.seriesLimit == 2)
        for i in 0..<5 { family.labels("\(i)").set(1) }
        #expect(family.seriesCount == 2)
    }

    @Test func removeAndRemoveAll() throws {
        let registry = MetricRegistry()
        let family = try registry.counter("r_total", help: "R.", labelNames: ["path"])
        for i in 0..<50 { family.labels("/\(i)").increment() }
        for i in stride(from: 0, to: 50, by: 2) { #expect(family.remove("/\(i)")) }
        #expect(!family.remove("/0"))
        #expect(!family.remove("/1", "extra"))
        #expect(family.seriesCount == 25)
        for i in stride(from: 1, to: 50, by: 2) { #expect(family.labels("/\(i)").value == 1) }
        let removed = family.labels("/1")
        family.removeAll()
        #expect(family.seriesCount == 0)
        removed.increment()  // a held reference stays usable
        #expect(registry.render() == "# HELP r_total R.\n# TYPE r_total counter\n")
        #expect(family.labels("/1").value == 0)  // a new series
    }

    @Test func manySeriesStayFindableThroughGrowthAndRemoval() throws {
        let family = try MetricRegistry().counter("r_total", help: "R.", labelNames: ["id"], seriesLimit: 100_000)
        var series: [Counter] = []
        for i in 0..<5_000 { series.append(family.labels("id-\(i)")) }
        for i in stride(from: 0, to: 5_000, by: 3) { family.remove("id-\(i)") }
        for i in 0..<5_000 where i % 3 != 0 { #expect(family.labels("id-\(i)") === series[i]) }
        #expect(family.seriesCount == 5_000 - 1_667)
    }

    @Test func constLabelsAreMergedAndSortedWithVariableLabels() throws {
        let registry = MetricRegistry()
        let family = try registry.counter(
            "r_total", help: "R.", labelNames: ["path", "code"], constLabels: ["zone": "a", "app": "b"])
        family.labels("/", "200").increment()
        #expect(registry.render().contains("r_total{app=\"b\",code=\"200\",path=\"/\",zone=\"a\"} 1\n"))
    }

    @Test func histogramFamilyWithConstLabels() throws {
        let registry = MetricRegistry()
        let family = try registry.histogram(
            "h_seconds", help: "H.", labelNames: ["op"], buckets: [1], constLabels: ["svc": "x"])
        family.labels("read").observe(0.5)
        #expect(
            registry.render().hasSuffix(
                """
                h_seconds_bucket{op="read",svc="x",le="1"} 1
                h_seconds_bucket{op="read",svc="x",le="+Inf"} 1
                h_seconds_sum{op="read",svc="x"} 0.5
                h_seconds_count{op="read",svc="x"} 1

                """))
    }
}
