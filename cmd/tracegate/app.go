package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"sync"
	"syscall"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/metrics"
	"github.com/tracegate/tracegate/proxy"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
	"github.com/tracegate/tracegate/store"
)

// spanFlushTimeout bounds the final span export at shutdown: a dead collector must not hold
// the exit for the exporter's full retry budget.
const spanFlushTimeout = 5 * time.Second

// errForcedExit is returned when a second signal cuts the drain short.
var errForcedExit = errors.New("second signal: exited without draining in-flight requests")

// app is a running gateway: the server on its listener, the span recorder it flushes on the
// way out, and the configuration it reloads on SIGHUP.
type app struct {
	configPath string
	log        *slog.Logger
	logLevel   *slog.LevelVar
	srv        *proxy.Server
	spans      *spans.Recorder
	store      *store.Queue
	metrics    *metrics.Metrics
	listener   net.Listener
	served     chan error

	// mu serialises reloads and guards cfg, the configuration in force.
	mu  sync.Mutex
	cfg *config.Config
}

// start builds everything cfg describes and starts serving. logLevel, when not nil, is the
// level of log, so that a reload can change it.
func start(cfg *config.Config, configPath string, log *slog.Logger, logLevel *slog.LevelVar) (*app, error) {
	rt, err := newRuntime(cfg, log)
	if err != nil {
		return nil, err
	}
	sources, err := newSources(cfg, log)
	if err != nil {
		return nil, err
	}
	rec, err := spans.New(context.Background(), spanOptions(cfg.Spans))
	if err != nil {
		return nil, fmt.Errorf("start span export: %w", err)
	}
	srv := proxy.New(proxy.Options{
		MaxBodyBytes:  cfg.Server.MaxBodyBytes,
		ReadTimeout:   cfg.Server.ReadTimeout.D(),
		WriteTimeout:  cfg.Server.WriteTimeout.D(),
		IdleTimeout:   cfg.Server.IdleTimeout.D(),
		MaxConcurrent: cfg.Server.MaxConcurrent,
	}, registry.New(sources...), rec, log, rt)
	spanStore, err := openSpanStore(cfg, log)
	if err != nil {
		_ = rec.Shutdown(context.Background())
		return nil, err
	}
	wireSpanStore(spanStore, rec, srv, cfg)
	m := metrics.New(metrics.Sources{
		RequestsInFlight: srv.InFlight,
		Spans:            rec,
		RegistryCache:    registryCacheStats(sources),
	})
	m.WatchSpanStore(spanStoreStats(spanStore))
	srv.SetObserver(m)
	srv.SetMetricsHandler(m.Handler())
	srv.AddReadinessCheck("registry", registryReady(cfg.Registry.Sources, sources))

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		closeSpanStore(spanStore, log)
		_ = rec.Shutdown(context.Background())
		return nil, fmt.Errorf("listen: %w", err)
	}
	a := &app{configPath: configPath, log: log, logLevel: logLevel, srv: srv, spans: rec, store: spanStore, metrics: m,
		listener: ln, served: make(chan error, 1), cfg: cfg}
	go func() { a.served <- srv.Serve(ln) }()
	log.Info("tracegate listening", "addr", ln.Addr().String(), "config", configPath,
		"providers", len(cfg.Providers), "span_exporter", cfg.Spans.Exporter,
		"auth", len(cfg.Server.AuthKeys) > 0, "max_concurrent", cfg.Server.MaxConcurrent)
	return a, nil
}

// addr is the address the gateway listens on.
func (a *app) addr() string { return a.listener.Addr().String() }

// config is the configuration in force.
func (a *app) config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// reload re-reads the configuration file and, if it is valid, swaps in a new runtime:
// providers, routes, retry, fallbacks, pricing, auth keys and protect_ops. Requests in flight
// finish on the runtime they started with; no connection is dropped. An invalid file is
// rejected with every problem logged, and the running configuration keeps serving.
func (a *app) reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	cfg, err := config.Load(a.configPath)
	if err == nil {
		var rt *proxy.Runtime
		if rt, err = newRuntime(cfg, a.log); err == nil {
			a.srv.SetRuntime(rt)
		}
	}
	if err != nil {
		a.metrics.ConfigReloaded(false)
		a.log.Error("configuration reload rejected; the running configuration keeps serving",
			"config", a.configPath, "problems", problems(err))
		return fmt.Errorf("reload %s: %w", a.configPath, err)
	}
	if a.logLevel != nil {
		a.logLevel.Set(logLevel(cfg.Log.Level))
	}
	if keys := restartOnlyChanges(a.cfg, cfg); len(keys) > 0 {
		a.log.Warn("configuration reloaded, but these settings only take effect after a restart", "keys", keys)
	}
	a.cfg = cfg
	a.metrics.ConfigReloaded(true)
	a.log.Info("configuration reloaded", "config", a.configPath, "providers", len(cfg.Providers),
		"routes", len(cfg.Routes), "auth", len(cfg.Server.AuthKeys) > 0)
	return nil
}

// problems lists a configuration error's problems one by one, for a structured log field.
func problems(err error) []string {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		out := make([]string, 0, len(ve.Errs))
		for _, e := range ve.Errs {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// restartOnlyChanges names the changed settings that a reload cannot apply: they shape the
// listener, the registry or the span pipeline, which live as long as the process. Only key
// names are returned, never values (some are secrets).
func restartOnlyChanges(old, next *config.Config) []string {
	var keys []string
	changed := func(key string, differs bool) {
		if differs {
			keys = append(keys, key)
		}
	}
	o, n := old.Server, next.Server
	changed("server.listen", o.Listen != n.Listen)
	changed("server.max_body_bytes", o.MaxBodyBytes != n.MaxBodyBytes)
	changed("server.read_timeout", o.ReadTimeout != n.ReadTimeout)
	changed("server.write_timeout", o.WriteTimeout != n.WriteTimeout)
	changed("server.idle_timeout", o.IdleTimeout != n.IdleTimeout)
	changed("server.max_concurrent", o.MaxConcurrent != n.MaxConcurrent)
	changed("registry", !reflect.DeepEqual(old.Registry, next.Registry))
	changed("spans", !reflect.DeepEqual(old.Spans, next.Spans))
	changed("store", old.Store != next.Store)
	changed("log.format", old.Log.Format != next.Log.Format)
	return keys
}

// shutdown drains: /readyz turns not ready, the listener closes, in-flight requests and
// streams finish until ctx ends, then queued spans are flushed. Requests still running when
// ctx ends are logged, not waited for.
func (a *app) shutdown(ctx context.Context) {
	if err := a.srv.Shutdown(ctx); err != nil {
		a.log.Warn("shutdown grace ended before every request finished", "in_flight", a.srv.InFlight(), "error", err)
	}
	// fasthttp only closes listeners its Serve has registered: a signal that arrives before
	// the serving goroutine has started would leave the port open. Closing it here too makes
	// that Serve return at once (a second Close is harmless).
	_ = a.listener.Close()
	// Every request has ended, so every record is queued: write them, then the spans.
	closeSpanStore(a.store, a.log)
	flush, cancel := context.WithTimeout(context.Background(), spanFlushTimeout)
	defer cancel()
	if err := a.spans.Shutdown(flush); err != nil {
		a.log.Warn("span flush incomplete", "error", err)
	}
	a.log.Info("stopped")
}

// waitForSignals serves until SIGINT or SIGTERM, reloading on SIGHUP, then drains for up to
// server.shutdown_grace. A second SIGINT or SIGTERM while draining returns errForcedExit at
// once. It returns nil after a drain, however it ended.
func (a *app) waitForSignals(sigs <-chan os.Signal) error {
	for {
		select {
		case err := <-a.served:
			return fmt.Errorf("serve: %w", err)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				_ = a.reload() // logged; the old configuration keeps serving
				continue
			}
			grace := a.config().Server.ShutdownGrace.D()
			a.log.Info("shutting down", "signal", sig.String(), "grace", grace.String(), "in_flight", a.srv.InFlight())
			return a.drain(sigs, grace)
		}
	}
}

func (a *app) drain(sigs <-chan os.Signal, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan struct{})
	go func() {
		a.shutdown(ctx)
		close(done)
	}()
	for {
		select {
		case <-done:
			return nil
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				a.log.Info("ignoring SIGHUP while shutting down")
				continue
			}
			a.log.Warn("second signal: exiting without draining", "signal", sig.String(), "in_flight", a.srv.InFlight())
			return errForcedExit
		}
	}
}
