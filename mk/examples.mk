# Examples/: a Hummingbird 2 and a Vapor 4 service and a batch job, each its own Swift package
# depending on MetricsKit by path. Included from the Makefile; `.ci/run` runs `make examples`.
#
#   make examples        for each example: build it (debug, printing the build time), start it,
#                        send requests, and check /metrics (Tests/examples/check_example.py):
#                        promtool lint-clean, both prometheus_client parsers, gzip, HEAD,
#                        OpenMetrics, the metric names the README promises (Hummingbird:
#                        also exemplars from a traced request, name[] and the scrape
#                        self-metrics); then time gzip scrapes with 1,000 more series
#   the batch job        build it, then run it against a real Pushgateway started on a free
#                        port (Tests/examples/check_batch_example.py): a successful run's PUT,
#                        a failed run's POST, values read back from the gateway's API and
#                        /metrics (promtool lint-clean), a real Prometheus scraping the
#                        gateway (honor_labels) storing them, the names the README lists
#
# A first build of an example compiles SwiftNIO and the framework: about 2.5 to 5 minutes on
# 2 cores (Vapor the longer). The names each check promises are the README's ("Use it in your
# service"); a name checked here and missing from the README fails the check.

EXAMPLES := HummingbirdExample VaporExample
EXAMPLE_PORT_HummingbirdExample := 18091
EXAMPLE_PORT_VaporExample := 18092
# Both examples map their framework's names to the same ones.
EXAMPLE_NAMES := http_server_requests_total:counter http_server_request_duration_seconds:histogram \
	shop_orders_total:counter shop_order_items:histogram process_cpu_seconds_total:counter \
	process_resident_memory_bytes:gauge
EXAMPLE_NAMES_HummingbirdExample := $(EXAMPLE_NAMES) http_server_active_requests:gauge \
	http_server_request_errors_total:counter metricskit_scrape_requests_total:counter \
	metricskit_scrape_requests_in_flight:gauge metricskit_scrape_errors_total:counter
# The Hummingbird example also attaches exemplars from the current trace (MetricsKitTracing).
EXAMPLE_FLAGS_HummingbirdExample := --exemplars-from-trace
EXAMPLE_NAMES_VaporExample := $(EXAMPLE_NAMES)

.PHONY: examples $(addprefix example-,$(EXAMPLES)) example-BatchJobExample

examples: $(addprefix example-,$(EXAMPLES)) example-BatchJobExample ## Build and check the example services and the batch job

# Builds Examples/$(1) (debug), printing the build time.
example_build = @start=$$(date +%s) && swift build --package-path Examples/$(1) && \
	echo "examples: $(1) built (debug) in $$(( $$(date +%s) - start ))s"

$(addprefix example-,$(EXAMPLES)): example-%: deps-build deps-test deps-python
	$(call example_build,$*)
	$(VENV)/bin/python Tests/examples/check_example.py $(EXAMPLE_FLAGS_$*) Examples/$*/.build/debug/$* $(EXAMPLE_PORT_$*) README.md \
		$(EXAMPLE_NAMES_$*)

example-BatchJobExample: deps-build deps-test deps-python
	$(call example_build,BatchJobExample)
	$(VENV)/bin/python Tests/examples/check_batch_example.py Examples/BatchJobExample/.build/debug/BatchJobExample README.md
