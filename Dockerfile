# syntax=docker/dockerfile:1
# datastudio-gateway container image.
#   docker build -t datastudio-gateway:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9090:9090 datastudio-gateway:0.1.0 demo \
#     --grpc-listen 0.0.0.0:50051 --admin-listen 0.0.0.0:9090
# The Helm chart (helm/datastudio-gateway) runs it with a read-only root filesystem as uid 65532.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS builder
WORKDIR /build

# 1. Dependencies: manifest, lockfile, build script and protos, with stub sources. This layer is
#    rebuilt only when one of those changes, not on every source edit.
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto ./proto
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src

# 2. The gateway itself. Touch the sources so cargo rebuilds them over the stubs whatever their mtime.
COPY . .
RUN find src -name '*.rs' -exec touch {} + \
 && cargo build --release --locked \
 && mkdir -p /out/state \
 && cp target/release/datastudio-gateway /out/datastudio-gateway

# Runtime: distroless glibc + CA certificates, no shell, runs as nonroot (65532).
FROM ${RUNTIME_IMAGE}
COPY --from=builder /out/datastudio-gateway /usr/local/bin/datastudio-gateway
# Default server.state_dir, owned by the runtime user (Kubernetes mounts an emptyDir over it).
COPY --from=builder --chown=65532:65532 /out/state /var/lib/datastudio-gateway
USER 65532:65532
# gRPC (API, grpc.health.v1, reflection) and admin HTTP (/healthz, /readyz, /metrics).
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/datastudio-gateway"]
CMD ["serve", "--config", "/etc/datastudio-gateway/config.yaml"]
