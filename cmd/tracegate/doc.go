// Command tracegate runs the gateway: it loads the configuration, wires the registry,
// providers, pricing and spans together, serves until SIGINT or SIGTERM, and drains in-flight
// requests and queued spans before exiting. It is the only place that exits the process.
package main
