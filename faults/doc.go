// Package faults is tracegate's fault suite: a misbehaving provider (Upstream) that hangs,
// resets, truncates, sends garbage or huge bodies, drips slowly and storms with 429/529, and
// tests that drive it through a real tracegate process built and started by the tests. Set
// TRACEGATE_SOAK=1 to run the soak test as well (README, "Fault tests").
package faults
