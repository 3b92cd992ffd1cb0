package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/proxy"
	"github.com/tracegate/tracegate/spans"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, so its exit codes are testable: 0 ok, 1 runtime failure,
// 2 bad flags or config.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tracegate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "path to the configuration file")
	checkOnly := fs.Bool("check-config", false, "validate the configuration and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "tracegate: %v\n", err)
		return 2
	}
	if *checkOnly {
		if _, err := newRuntime(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
			fmt.Fprintf(stderr, "tracegate: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "%s: configuration is valid\n", *configPath)
		return 0
	}
	log := newLogger(cfg.Log, stderr)
	if err := serve(cfg, *configPath, log); err != nil {
		log.Error("tracegate stopped", "error", err)
		return 1
	}
	return 0
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(cfg *config.Config, configPath string, log *slog.Logger) error {
	rt, err := newRuntime(cfg, log)
	if err != nil {
		return err
	}
	ctx := context.Background()
	rec, err := spans.New(ctx, spanOptions(cfg.Spans))
	if err != nil {
		return fmt.Errorf("start span export: %w", err)
	}
	reg, err := newRegistry(cfg, log)
	if err != nil {
		return err
	}
	srv := proxy.New(proxy.Options{
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		ReadTimeout:  cfg.Server.ReadTimeout.D(),
		WriteTimeout: cfg.Server.WriteTimeout.D(),
		IdleTimeout:  cfg.Server.IdleTimeout.D(),
		Concurrency:  cfg.Server.MaxConcurrent,
	}, reg, rec, log, rt)

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("tracegate listening", "addr", ln.Addr().String(), "config", configPath,
		"providers", len(cfg.Providers), "span_exporter", cfg.Spans.Exporter)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String(), "grace", cfg.Server.ShutdownGrace.D().String())
	}
	grace, cancel := context.WithTimeout(ctx, cfg.Server.ShutdownGrace.D())
	defer cancel()
	go func() {
		<-sigs
		log.Warn("second signal: exiting without draining")
		cancel()
	}()
	if err := srv.Shutdown(grace); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("shutdown did not drain every request", "error", err)
	}
	flush, cancelFlush := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelFlush()
	if err := rec.Shutdown(flush); err != nil {
		log.Warn("span flush incomplete", "error", err)
	}
	log.Info("stopped")
	return nil
}
