# Multi-stage build of the vpsie-autoscaler controller.
#   docker build -t vpsie-autoscaler .
# Stage 1 builds the release binary; stage 2 is a minimal non-root image with only the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p vpsie-autoscaler \
    && cp target/release/vpsie-autoscaler /vpsie-autoscaler

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /vpsie-autoscaler /usr/local/bin/vpsie-autoscaler
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/vpsie-autoscaler"]
CMD ["run", "--config=/etc/vpsie-autoscaler/config.yaml"]
