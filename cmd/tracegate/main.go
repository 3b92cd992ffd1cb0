package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/tracegate/tracegate/config"
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
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit (for performance work)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "tracegate: %v\n", err)
		return 2
	}
	if *checkOnly {
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		if _, err := newRuntime(cfg, quiet); err != nil {
			fmt.Fprintf(stderr, "tracegate: %v\n", err)
			return 2
		}
		if _, err := newSources(cfg, quiet); err != nil {
			fmt.Fprintf(stderr, "tracegate: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "%s: configuration is valid\n", *configPath)
		return 0
	}
	log, level := newLogger(cfg.Log, stderr)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "tracegate: %v\n", err)
			return 2
		}
		defer stop()
	}
	if err := serve(cfg, *configPath, log, level); err != nil {
		log.Error("tracegate stopped", "error", err)
		return 1
	}
	return 0
}

// startCPUProfile profiles the process into path; the returned func stops and writes it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// newLogger builds the structured log. Its level is a LevelVar so that a reload can change
// it; the format is fixed for the life of the process.
func newLogger(c config.Log, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(logLevel(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}

// logLevel parses a validated log.level; config.Validate has rejected anything else.
func logLevel(name string) slog.Level {
	var level slog.Level
	_ = level.UnmarshalText([]byte(name))
	return level
}

// serve runs the gateway until a signal stops it: SIGHUP reloads the configuration,
// SIGINT or SIGTERM drains and returns nil, a second one returns errForcedExit.
func serve(cfg *config.Config, configPath string, log *slog.Logger, level *slog.LevelVar) error {
	// Subscribe before starting, so a signal sent as soon as the port is open is not lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	a, err := start(cfg, configPath, log, level)
	if err != nil {
		return err
	}
	return a.waitForSignals(sigs)
}
