# The MetricsKit DocC documentation (Sources/MetricsKit/MetricsKit.docc) and the catalogs of the
# separate products (DOCS_EXTRA_TARGETS), built with the swift-docc-plugin. Included from the
# Makefile; also usable alone: `make -f mk/docs.mk docs`.
#
#   make docs            builds .build/docs (MetricsKit) and .build/docs-<target> for each of
#                        DOCS_EXTRA_TARGETS; any DocC warning (broken link, missing
#                        parameter documentation, unknown directive) fails the build
#   make docs-preview    serves the catalog at http://localhost:8000/documentation/metricskit
#                        and rebuilds it as you edit (port 8000: metrics-app has 8080)
#
# Variables: DOCS_OUTPUT (where the archive goes), DOCS_FLAGS (more docc options, such as
# `--hosting-base-path MetricsKit` for GitHub Pages), DOCS_PREVIEW_PORT.

# The package root: the directory above this file, whichever directory make runs in.
DOCS_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
DOCS_TARGET ?= MetricsKit
DOCS_OUTPUT ?= $(DOCS_ROOT)/.build/docs
DOCS_FLAGS ?=
DOCS_PREVIEW_PORT ?= 8000
# The separate products with their own catalogs, each built next to the main archive.
DOCS_EXTRA_TARGETS ?= MetricsKitPush MetricsKitTracing MetricsKitTesting

.PHONY: docs docs-preview

docs: ## Build the DocC documentation into .build/docs; fails on any DocC warning
	@cd "$(DOCS_ROOT)" && start=$$(date +%s) && \
	swift package --allow-writing-to-directory "$(DOCS_OUTPUT)" \
		generate-documentation --target $(DOCS_TARGET) \
		--warnings-as-errors --output-path "$(DOCS_OUTPUT)" $(DOCS_FLAGS) && \
	for target in $(DOCS_EXTRA_TARGETS); do \
		swift package --allow-writing-to-directory "$(DOCS_OUTPUT)-$$target" \
			generate-documentation --target $$target \
			--warnings-as-errors --output-path "$(DOCS_OUTPUT)-$$target" $(DOCS_FLAGS) || exit 1; \
	done && \
	echo "docs: $(DOCS_OUTPUT) (and $(DOCS_EXTRA_TARGETS)) built without DocC warnings in $$(( $$(date +%s) - start ))s (open it with make docs-preview)"

docs-preview: ## Serve the DocC documentation locally while you edit it (Ctrl-C stops)
	cd "$(DOCS_ROOT)" && swift package --disable-sandbox preview-documentation --target $(DOCS_TARGET) --port $(DOCS_PREVIEW_PORT)
