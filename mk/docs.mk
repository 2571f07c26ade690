# The MetricsKit DocC documentation (Sources/MetricsKit/MetricsKit.docc) and the Pushgateway
# client's (Sources/MetricsKitPush/MetricsKitPush.docc), built with the swift-docc-plugin. Included from the Makefile; also usable alone: `make -f mk/docs.mk docs`.
#
#   make docs            builds .build/docs (and .build/docs-MetricsKitPush); any DocC warning (broken link, missing
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
# A module documented in an archive of its own, beside MetricsKit's.
DOCS_PUSH_OUTPUT ?= $(DOCS_ROOT)/.build/docs-MetricsKitPush

.PHONY: docs docs-preview

docs: ## Build the DocC documentation into .build/docs; fails on any DocC warning
	@cd "$(DOCS_ROOT)" && start=$$(date +%s) && \
	swift package --allow-writing-to-directory "$(DOCS_OUTPUT)" \
		generate-documentation --target $(DOCS_TARGET) \
		--warnings-as-errors --output-path "$(DOCS_OUTPUT)" $(DOCS_FLAGS) && \
	swift package --allow-writing-to-directory "$(DOCS_PUSH_OUTPUT)" \
		generate-documentation --target MetricsKitPush \
		--warnings-as-errors --output-path "$(DOCS_PUSH_OUTPUT)" $(DOCS_FLAGS) && \
	echo "docs: $(DOCS_OUTPUT) and $(DOCS_PUSH_OUTPUT) built without DocC warnings in $$(( $$(date +%s) - start ))s (open it with make docs-preview)"

docs-preview: ## Serve the DocC documentation locally while you edit it (Ctrl-C stops)
	cd "$(DOCS_ROOT)" && swift package --disable-sandbox preview-documentation --target $(DOCS_TARGET) --port $(DOCS_PREVIEW_PORT)
