# Multi-stage: build a static binary, ship it on a minimal non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
# Documents and generated keys live here; mount a volume (or use S3 and
# pass APP_KEY / MASTER_KEY in the environment).
ENV DATA_DIR=/data LISTEN_ADDR=:8080 APP_ENV=production
VOLUME ["/data"]
USER nonroot:nonroot
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD ["/server", "healthcheck"]
ENTRYPOINT ["/server"]
CMD ["serve"]
