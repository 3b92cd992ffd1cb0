//go:build race

package faults

// Under go test -race the tracegate process is built with the race detector too, so the
// fault suite finds races in the real process; the detector multiplies its memory.
var (
	buildFlags = []string{"-race"}
	rssFactor  = int64(8)
)
