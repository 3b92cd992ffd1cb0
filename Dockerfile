# syntax=docker/dockerfile:1
# Multi-stage build: a static tracegate binary on distroless, running as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/tracegate ./cmd/tracegate

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/tracegate /app/tracegate
COPY config.yaml /app/config.yaml
COPY prompts/ /app/prompts/
# In a container the gateway must listen beyond loopback; override with TRACEGATE_LISTEN.
ENV TRACEGATE_LISTEN=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/app/tracegate"]
CMD ["-config", "/app/config.yaml"]
