// Command tracegate runs the gateway: it loads the configuration, wires the registry,
// providers, pricing, spans and metrics together (wiring.go, app.go), and serves until a
// signal: SIGHUP reloads the configuration without dropping connections (an invalid file is
// rejected and the old one keeps serving), SIGINT or SIGTERM drains in-flight requests and
// streams for up to server.shutdown_grace and flushes queued spans, and a second SIGINT or
// SIGTERM exits at once with status 1. readiness.go holds the registry's /readyz check. It
// is the only place that exits the process.
package main
