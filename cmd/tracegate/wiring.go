package main

import (
	"fmt"
	"log/slog"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/pricing"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/proxy"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
)

// newRuntime builds the reloadable part of the server: providers, routes, prices, auth keys.
func newRuntime(cfg *config.Config, log *slog.Logger) (*proxy.Runtime, error) {
	router, err := provider.NewRouter(cfg.Providers, cfg.Routes)
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	prices, err := newPriceTable(cfg.Pricing, log)
	if err != nil {
		return nil, err
	}
	rt := &proxy.Runtime{
		Dispatcher: provider.NewDispatcher(router, provider.RetryPolicy{
			MaxAttempts:    cfg.Retry.MaxAttempts,
			InitialBackoff: cfg.Retry.InitialBackoff.D(),
			MaxBackoff:     cfg.Retry.MaxBackoff.D(),
			MaxElapsed:     cfg.Retry.MaxElapsed.D(),
		}, cfg.Fallbacks),
		Prices:     prices,
		ProtectOps: cfg.Server.ProtectOps,
	}
	for _, k := range cfg.Server.AuthKeys {
		rt.AuthKeys = append(rt.AuthKeys, []byte(k))
	}
	for _, b := range router.Backends() {
		if !b.Configured() {
			log.Info("provider has no API key; runs routed to it fail with MISSING_PROVIDER_KEY", "provider", b.Name)
		}
	}
	return rt, nil
}

func newPriceTable(c config.Pricing, log *slog.Logger) (*pricing.Table, error) {
	var (
		table *pricing.Table
		err   error
	)
	if c.File != "" {
		table, err = pricing.LoadFile(c.File)
	} else {
		table, err = pricing.Embedded()
	}
	if err != nil {
		return nil, fmt.Errorf("pricing: %w", err)
	}
	if len(c.Overrides) > 0 {
		o := make(map[string]pricing.Price, len(c.Overrides))
		for model, p := range c.Overrides {
			o[model] = pricing.Price{
				InputPerToken:      p.InputPerToken,
				OutputPerToken:     p.OutputPerToken,
				CacheReadPerToken:  p.CacheReadPerToken,
				CacheWritePerToken: p.CacheWritePerToken,
			}
		}
		table = table.WithOverrides(o)
	}
	for _, w := range table.Warnings() {
		log.Warn("price table", "warning", w)
	}
	return table, nil
}

// newRegistry builds the prompt registry over the configured sources.
func newRegistry(cfg *config.Config, log *slog.Logger) (*registry.Registry, error) {
	sources, err := newSources(cfg, log)
	if err != nil {
		return nil, err
	}
	return registry.New(sources...), nil
}

// newSources builds the registry's sources in order, each HTTP source behind its cache.
func newSources(cfg *config.Config, log *slog.Logger) ([]registry.Source, error) {
	var sources []registry.Source
	cacheOpts := registry.CacheOptions{
		TTL:          cfg.Registry.Cache.TTL.D(),
		StaleIfError: cfg.Registry.Cache.StaleIfError.D(),
		NegativeTTL:  cfg.Registry.Cache.NegativeTTL.D(),
		MaxEntries:   cfg.Registry.Cache.MaxEntries,
	}
	for i, s := range cfg.Registry.Sources {
		switch s.Type {
		case "file":
			if s.Writable {
				sources = append(sources, registry.NewWritableFileSource(s.Path, log))
			} else {
				sources = append(sources, registry.NewFileSource(s.Path, log))
			}
		case "http":
			upstream, err := registry.NewHTTPSource(registry.HTTPOptions{
				BaseURL:       s.BaseURL,
				APIKey:        s.APIKey,
				PassCallerKey: s.PassCallerKey,
				Timeout:       s.Timeout.D(),
			})
			if err != nil {
				return nil, fmt.Errorf("registry.sources[%d]: %w", i, err)
			}
			// Each upstream gets its own cache, bounded by the shared cache settings.
			sources = append(sources, registry.NewCache(upstream, cacheOpts, log))
		default:
			return nil, fmt.Errorf("registry.sources[%d]: type %q is not supported", i, s.Type)
		}
	}
	return sources, nil
}

func spanOptions(c config.Spans) spans.Options {
	return spans.Options{
		Exporter:       c.Exporter,
		Protocol:       c.Protocol,
		Endpoint:       c.Endpoint,
		Headers:        c.Headers,
		ServiceName:    c.ServiceName,
		CaptureContent: c.CaptureContent,
		QueueSize:      c.QueueSize,
	}
}
