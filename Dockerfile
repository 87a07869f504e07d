# syntax=docker/dockerfile:1
# logscan as a container, e.g. a sidecar that follows an app's log files
# (see deploy/kubernetes/sidecar.yaml). Configure it with LOGSCAN_* env vars.
#
#   docker build -t logscan .
#   docker run --rm -v /var/log/app:/logs:ro -e LOGSCAN_ROOTS=/logs -e LOGSCAN_MATCH=ERROR logscan

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that editing sources does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo, no libc) so that it runs on the distroless static base.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -funcalign=64" -o /logscan ./cmd/logscan

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /logscan /logscan
# Sidecar defaults: follow, serve probes/metrics on all interfaces of the
# pod, JSON diagnostics on stderr and JSON matches on stdout. On 0.0.0.0
# /matches answers 403 until LOGSCAN_HTTP_AUTH_BEARER_TOKEN_FILE names a
# token (see deploy/kubernetes/sidecar.yaml).
ENV LOGSCAN_FOLLOW=true \
    LOGSCAN_HTTP_LISTEN=0.0.0.0:9321 \
    LOGSCAN_LOG_FORMAT=json \
    LOGSCAN_OUTPUT_FORMAT=json
EXPOSE 9321
# 65532 is the distroless nonroot user; numeric so Kubernetes can verify
# runAsNonRoot without reading /etc/passwd.
USER 65532:65532
ENTRYPOINT ["/logscan"]
