# metrics-app container image.
#
#   make docker-build                      # docker build -t $(IMAGE):$(TAG) .
#   docker run --rm -p 8080:8080 metrics-app:$(cat VERSION)
#
# Stage 1 builds on the official Swift image of the toolchain the project uses (Debian
# bookworm) and links the Swift runtime statically. Stage 2 is debian:bookworm-slim with only
# the shared libraries the binary loads, running as 1000:1000.
# `make image-smoke` proves stage 2's contract without Docker: it reads RUNTIME_PACKAGES below,
# installs exactly those into a debootstrapped bookworm root filesystem and runs the binary
# there as uid 1000.

ARG SWIFT_VERSION=6.3.1

FROM swift:${SWIFT_VERSION}-bookworm AS builder
# Distribution packages are not pinned: bookworm's security updates replace old versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmicrohttpd-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer, so a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product metrics-app \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/metrics-app" /out/metrics-app

FROM debian:bookworm-slim
# The shared libraries metrics-app needs besides glibc, libstdc++ and libgcc (which every
# bookworm image has): libmicrohttpd.so.12 and libz.so.1. Named once, here.
ARG RUNTIME_PACKAGES="libmicrohttpd12 zlib1g"
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 app \
    && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=builder /out/metrics-app /usr/local/bin/metrics-app
USER 1000:1000
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/metrics-app"]
