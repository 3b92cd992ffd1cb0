//go:build !unix

package store

import "time"

// processCPU is not measured here: benchmarks leave out their cpu-ns/op metric.
func processCPU() time.Duration { return 0 }
