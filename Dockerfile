# Build: docker build -t fsbridge --build-arg VERSION=$(git describe --always) .
# Run:   see docs/docker.md

FROM golang:1.26-bookworm AS build
# Lets the legacy builder's leftover build-stage images be pruned:
#   docker image prune --filter label=org.fsbridge.stage=build
LABEL org.fsbridge.stage=build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Pure Go (the SQLite driver needs no cgo): a static binary.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/fsbridge/fsbridge/internal/version.Version=${VERSION}" \
      -o /out/fsbridge ./cmd/fsbridge \
 && mkdir -p /out/data

# distroless/static: CA certificates, time zone data and nothing else (no
# shell); runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fsbridge /fsbridge
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV FSBRIDGE_LISTEN=0.0.0.0:8080 \
    FSBRIDGE_STORE_PATH=/data/fsbridge.db \
    FSBRIDGE_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 CMD ["/fsbridge", "healthcheck"]
ENTRYPOINT ["/fsbridge"]
CMD ["serve", "--config", "/etc/fsbridge/fsbridge.yaml"]
