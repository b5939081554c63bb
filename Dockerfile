# syntax=docker/dockerfile:1
#
# The p2pcache relay as a container image: a static Go binary on distroless,
# running as non-root. Deploying it (ports, NAT, proxies, health checks):
# deploy/README.md.
#
#   docker build -t p2pcache \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" .
#   docker run --rm -p 8080:8080 -p 7881:7881 \
#     -e P2PCACHE_PUBLIC_IP=203.0.113.10 p2pcache
#
# ICE-TCP advertises the port the relay listens on: publish 7881 as 7881
# (same number outside and in) and set P2PCACHE_PUBLIC_IP to the address
# browsers reach, or use --network host.
#
# KEEP IN SYNC: deploy/build-static.sh runs this builder stage's `go build`
# without Docker (same environment, flags and ldflags) and fails when the
# line below differs from its own. Change both together.

# Cross-compiles on the build host's platform for the target's (buildx
# --platform linux/amd64,linux/arm64): CGO is off, so no C toolchain.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Modules first, in their own layer: rebuilt only when go.mod, go.sum or the
# patched pion modules change. third_party/ holds the modules go.mod replaces
# (third_party/PATCHES.md): `go mod download` needs it before the rest.
COPY go.mod go.sum ./
COPY third_party/ third_party/
RUN go mod download && go mod verify
COPY . .
ARG TARGETOS
ARG TARGETARCH
# -X main.version / main.commit: what `p2pcache --version` prints.
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/p2pcache ./server
# The state directory (ACME account and certificates). It is copied into the
# image owned by nonroot so a named volume mounted there starts out writable.
RUN mkdir -p -m 0700 /out/state/acme

# distroless static: CA certificates (https origins, ACME), tzdata and a
# passwd file with nonroot (65532); no shell, no package manager.
# Pin it by digest in production (gcr.io/distroless/static-debian12:nonroot@sha256:...).
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="p2pcache" \
      org.opencontainers.image.description="Static files to browsers over WebRTC (ICE-TCP), WebSocket and HTTP" \
      org.opencontainers.image.source="https://github.com/p2pcache/p2pcache" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/p2pcache /usr/local/bin/p2pcache
COPY --from=build --chown=65532:65532 /out/state/ /var/lib/p2pcache/
# Every flag is also P2PCACHE_<NAME>; a flag on the command line wins.
#  - listen on all interfaces: the host or the orchestrator decides what is
#    published (outside a container the defaults are 127.0.0.1).
#  - a drain that fits in `docker stop`'s default 10 s grace period (the HTTP
#    server then gets up to one more second): raise both together
#    (docker stop -t / compose stop_grace_period / terminationGracePeriodSeconds).
#  - JSON logs, and the ACME cache on the volume (used with
#    P2PCACHE_ACME_DOMAINS=relay.example.com, when the relay serves TLS itself).
ENV P2PCACHE_LISTEN=0.0.0.0:8080 \
    P2PCACHE_ICE_LISTEN=0.0.0.0:7881 \
    P2PCACHE_SHUTDOWN_TIMEOUT=8s \
    P2PCACHE_LOG_FORMAT=json \
    P2PCACHE_ACME_CACHE=/var/lib/p2pcache/acme
USER 65532:65532
# 8080: HTTP/HTTPS + WebSocket. 7881: ICE-TCP, must reach the relay directly
# (TCP, not through an HTTP proxy).
EXPOSE 8080/tcp 7881/tcp
VOLUME ["/var/lib/p2pcache"]
# No shell or curl in distroless: the binary probes itself. `p2pcache
# healthcheck` reads the relay's configuration (P2PCACHE_* variables,
# P2PCACHE_CONFIG), GETs /readyz on its listen address (loopback for
# 0.0.0.0; https when TLS is on) and exits 0 on 200, 1 otherwise: set the
# listen address in the environment, not as a flag of the relay. Kubernetes
# ignores HEALTHCHECK: use httpGet probes on /healthz (liveness) and /readyz
# (readiness) there.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/p2pcache", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/p2pcache"]
