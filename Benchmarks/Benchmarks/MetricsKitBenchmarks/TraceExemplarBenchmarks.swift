// Exemplars from the current trace (MetricsKitTracing) next to the plain update, in one span.
//
// "<workload>/MetricsKit" is the traced update, "<workload>/MetricsKit_plain" the same update on
// an untraced series in the same span: the ratio is what tracing adds per call.
//   traced_*_not_due     the default rule (one attempt per series per 100 ms): nearly every
//                        call only finds its attempt not due
//   traced_*_every_call  interval zero: every call reads the trace and records an exemplar
//   traced_increment_no_span  interval zero outside any span: every call looks and finds none

import Benchmark
import MetricsKit
import MetricsKitTracing
import Tracing

/// The tracer, bootstrapped once (InstrumentationSystem allows one bootstrap per process).
let traceparentTracer: TraceparentTracer = {
    let tracer = TraceparentTracer()
    InstrumentationSystem.bootstrap(tracer)
    return tracer
}()

func traceExemplarBenchmarks() {
    let mega = Benchmark.Configuration(scalingFactor: .mega)
    let kilo = Benchmark.Configuration(scalingFactor: .kilo)
    let everyCall = ExemplarSampling(interval: .zero)

    /// Runs `body` inside a span of the bootstrapped tracer.
    func inSpan(_ body: () -> Void) {
        let span = traceparentTracer.startSpan("benchmark")
        ServiceContext.withValue(span.context, operation: body)
        span.end()
    }

    func counter(_ name: String) -> Counter {
        (try? MetricRegistry().counter(name, help: "Benchmark counter."))!
    }

    func histogram(_ name: String) -> Histogram {
        (try? MetricRegistry().histogram(name, help: "Benchmark histogram."))!
    }

    for (workload, scale, sampling) in [
        ("traced_increment_not_due", mega, ExemplarSampling.default), ("traced_increment_every_call", kilo, everyCall),
    ] {
        Benchmark("\(workload)/MetricsKit", configuration: scale) { benchmark in
            let traced = counter("traced_total").exemplarsFromTrace(sampling)
            inSpan {
                for _ in benchmark.scaledIterations { traced.increment() }
            }
            blackHole(traced.series)
        }
        Benchmark("\(workload)/MetricsKit_plain", configuration: scale) { benchmark in
            let plain = counter("plain_total")
            inSpan {
                for _ in benchmark.scaledIterations { plain.increment() }
            }
            blackHole(plain)
        }
    }

    for (workload, scale, sampling) in [
        ("traced_observe_not_due", mega, ExemplarSampling.default), ("traced_observe_every_call", kilo, everyCall),
    ] {
        Benchmark("\(workload)/MetricsKit", configuration: scale) { benchmark in
            let traced = histogram("traced_seconds").exemplarsFromTrace(sampling)
            inSpan { observeOnOneThread(benchmark) { traced.observe($0) } }
            blackHole(traced.series)
        }
        Benchmark("\(workload)/MetricsKit_plain", configuration: scale) { benchmark in
            let plain = histogram("plain_seconds")
            inSpan { observeOnOneThread(benchmark) { plain.observe($0) } }
            blackHole(plain)
        }
    }

    Benchmark("traced_increment_no_span/MetricsKit", configuration: kilo) { benchmark in
        let traced = counter("traced_total").exemplarsFromTrace(everyCall)
        for _ in benchmark.scaledIterations { traced.increment() }
        blackHole(traced.series)
    }
    Benchmark("traced_increment_no_span/MetricsKit_plain", configuration: kilo) { benchmark in
        let plain = counter("plain_total")
        for _ in benchmark.scaledIterations { plain.increment() }
        blackHole(plain)
    }
}
