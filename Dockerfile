# syntax=docker/dockerfile:1.7
# datastudio-gateway container image, for linux/amd64 and linux/arm64 (BuildKit):
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg REVISION="$(git rev-parse HEAD)" --build-arg CREATED="$(date -u +%FT%TZ)" \
#     -t datastudio-gateway:0.1.0 .
#   docker build -t datastudio-gateway:0.1.0 .        # this machine's platform only
#   docker run --rm -p 50051:50051 -p 9090:9090 datastudio-gateway:0.1.0 demo \
#     --grpc-listen 0.0.0.0:50051 --admin-listen 0.0.0.0:9090
# Each platform builds natively (under emulation on a foreign builder): no cross toolchain.
# The Helm chart (helm/datastudio-gateway) runs it with a read-only root filesystem as uid 65532.
#
# Base images are pinned by the digest of their multi-platform index, so a rebuild gets the
# bytes that were reviewed. `scripts/refresh-base-images.sh` resolves the tags again and
# rewrites the two pins (it needs `crane` or `docker buildx imagetools`); review the new
# images' notes, then commit.

ARG RUST_IMAGE=rust:1.95-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f

FROM ${RUST_IMAGE} AS builder
ARG TARGETPLATFORM
WORKDIR /build
COPY . .
# BuildKit cache mounts keep the crate registry and the target directory (one per platform)
# between builds, so a source edit rebuilds only the gateway itself. The binary leaves the
# cache mount by a copy in the same step. The release profile strips symbols (Cargo.toml).
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=datastudio-gateway-target-${TARGETPLATFORM},target=/build/target,sharing=locked \
    cargo build --release --locked \
 && mkdir -p /out/state \
 && cp target/release/datastudio-gateway /out/datastudio-gateway

# Runtime: distroless glibc + CA certificates, no shell, runs as nonroot (65532).
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="datastudio-gateway" \
      org.opencontainers.image.description="One vendor-neutral gRPC API over Alibaba Cloud DataWorks and Huawei Cloud DataArts Studio release packages and files" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=builder /out/datastudio-gateway /usr/local/bin/datastudio-gateway
# Default server.state_dir, owned by the runtime user (Kubernetes mounts an emptyDir over it).
COPY --from=builder --chown=65532:65532 /out/state /var/lib/datastudio-gateway
USER 65532:65532
# The allocator (mimalloc) turns transparent huge pages off for the process: on a host
# where THP is "always", huge pages would multiply the resident memory (see the README).
ENV MIMALLOC_ALLOW_THP=0
# gRPC (API, grpc.health.v1, reflection) and admin HTTP (/healthz, /readyz, /metrics).
EXPOSE 50051 9090
# For Docker and Compose (Kubernetes uses the chart's probes instead): the gateway's own gRPC
# health check on the plaintext port. With TLS on the gRPC port, override it or use the
# admin port's /readyz from outside.
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/datastudio-gateway", "healthcheck", "--addr", "127.0.0.1:50051", "--timeout", "3s"]
ENTRYPOINT ["/usr/local/bin/datastudio-gateway"]
CMD ["serve", "--config", "/etc/datastudio-gateway/config.yaml"]
