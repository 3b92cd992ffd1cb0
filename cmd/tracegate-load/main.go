package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes. A compare run that finished but had phases fail gets its own code, so a script
// can print the table and still tell "measured" from "measured, with failures".
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitPhasesFailed = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the exit: it picks the mode from the first argument.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	mode := ""
	if len(args) > 0 {
		switch args[0] {
		case "mock", "nullgw", "compare", "load":
			mode, args = args[0], args[1:]
		case "help", "-h", "-help", "--help":
			fmt.Fprint(stdout, usageText)
			return exitOK
		}
	}
	switch mode {
	case "mock":
		return runMockCommand(ctx, args, stdout, stderr)
	case "nullgw":
		return runNullGatewayCommand(ctx, args, stdout, stderr)
	case "compare":
		return runCompareCommand(ctx, args, stdout, stderr)
	default:
		return runLoadCommand(ctx, args, stdout, stderr)
	}
}

const usageText = `tracegate-load: load generator for OpenAI-compatible endpoints (loopback only)

  tracegate-load [load] [flags]   drive -target at -c concurrency or -rate req/s
  tracegate-load mock [flags]     serve the mock upstream only
  tracegate-load nullgw [flags]   serve the null gateway only: a bare relay to -upstream
  tracegate-load compare [flags]  direct vs null gateway vs through-tracegate, side by side

Run a mode with -h for its flags.
`
