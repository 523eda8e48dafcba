# syntax=docker/dockerfile:1
# Multi-stage build of the `meditrustal` binary. Not built in CI (no container engine on the
# CI machines); see docs/deployment.md.

# ---- build ------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Manifests first, so that dependency downloads are cached while only sources change.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# The web UI is embedded from its committed build: no Node.js in this image.
COPY web/dist ./web/dist
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin meditrustal \
    && install -D -m 0755 target/release/meditrustal /out/meditrustal \
    && install -d -m 0700 /out/data

# ---- runtime ----------------------------------------------------------------------------
# distroless/cc: glibc and CA certificates, no shell, no package manager (~25 MB + binary).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/meditrustal /usr/local/bin/meditrustal
# Owned by the runtime user: the binary refuses key files others can read.
COPY --from=build --chown=65532:65532 /out/data /var/lib/meditrustal
# nonroot = uid/gid 65532. The data directory (SQLite, local objects, key files) is a volume;
# in Kubernetes use PostgreSQL, S3 and secrets instead (deploy/kubernetes).
USER 65532:65532
WORKDIR /var/lib/meditrustal
ENV MEDITRUSTAL_DATA_DIR=/var/lib/meditrustal \
    MEDITRUSTAL_BIND=0.0.0.0:8080 \
    MEDITRUSTAL_LOG_JSON=true
VOLUME ["/var/lib/meditrustal"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/meditrustal"]
CMD ["serve"]
