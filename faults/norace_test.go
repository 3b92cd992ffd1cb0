//go:build !race

package faults

var (
	buildFlags []string
	rssFactor  = int64(1)
)
