//go:build race

package proxy

// raceEnabled: the race detector makes sync.Pool drop objects at random, so allocation
// counts of pooled paths are checked only without it.
const raceEnabled = true
