// Package redact removes secrets from text that leaves the gateway: error messages that
// reach callers, span status descriptions and log lines. Keys must never appear in any of them.
package redact
