package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/proxy"
	"github.com/tracegate/tracegate/registry"
)

// readyChecker is a registry source that can say whether it can serve runs now.
type readyChecker interface {
	Ready(ctx context.Context) error
}

// registryReady is the registry's /readyz check: every file source's directory can be read,
// and every upstream source either has a warm cache or answers (registry.Cache.Ready, which
// asks the upstream at most every few seconds).
func registryReady(cfgSources []config.Source, sources []registry.Source) proxy.ReadinessCheck {
	var dirs []string
	for _, s := range cfgSources {
		if s.Type == "file" {
			dirs = append(dirs, s.Path)
		}
	}
	var remotes []readyChecker
	for _, s := range sources {
		if r, ok := s.(readyChecker); ok {
			remotes = append(remotes, r)
		}
	}
	return func(ctx context.Context) error {
		for _, dir := range dirs {
			if err := readableDir(dir); err != nil {
				return err
			}
		}
		for _, r := range remotes {
			if err := r.Ready(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

// readableDir opens dir and reads one name: cheap, and it fails for a missing directory, a
// file in its place and a directory without read permission alike.
func readableDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("prompt directory: %w", err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("prompt directory %s: %w", dir, err)
	}
	return nil
}

// cacheCounters is what a registry source implements to have its cache's hits and misses
// exported. registry.Cache does not implement it yet: this is the hook, and the metrics
// tracegate_registry_cache_{hits,misses}_total appear as soon as it does.
type cacheCounters interface {
	CacheHits() int64
	CacheMisses() int64
}

// registryCacheStats sums the cache counters of the sources that have them; nil when none
// does, which leaves the cache metrics out rather than exporting zeros that mean nothing.
func registryCacheStats(sources []registry.Source) func() metrics.CacheStats {
	var caches []cacheCounters
	for _, s := range sources {
		if c, ok := s.(cacheCounters); ok {
			caches = append(caches, c)
		}
	}
	if len(caches) == 0 {
		return nil
	}
	return func() metrics.CacheStats {
		var st metrics.CacheStats
		for _, c := range caches {
			st.Hits += c.CacheHits()
			st.Misses += c.CacheMisses()
		}
		return st
	}
}
