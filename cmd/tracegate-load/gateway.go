package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// benchConfig is the tracegate configuration compare starts tracegate with when no
// -tracegate-config is given. scripts/bench-config.yaml is the same file, kept in step by a
// test. The TRACEGATE_BENCH_* variables are set by the tool when it starts tracegate, and
// tracegate expands them itself.
const benchConfig = `# tracegate configuration for the load tool's compare mode (cmd/tracegate-load). The tool sets
# the variables when it starts tracegate: every model routes to the tool's mock upstream, spans
# go to the mock's OTLP sink (or nowhere with TRACEGATE_BENCH_SPANS=none).
server:
  listen: ${TRACEGATE_LISTEN:-127.0.0.1:8080}
  max_body_bytes: 8388608
  auth_keys: []
  shutdown_grace: 2s
registry:
  sources:
    - type: file
      path: ${TRACEGATE_BENCH_PROMPTS}
  cache: {ttl: 60s, stale_if_error: 24h, negative_ttl: 5s, max_entries: 10000}
providers:
  - {name: upstream, type: openai, base_url: "${TRACEGATE_BENCH_UPSTREAM:-http://127.0.0.1:18081/v1}", api_key: bench-key}
routes:
  - {match: "*", provider: upstream}
retry: {max_attempts: 1, initial_backoff: 0s, max_backoff: 0s}   # errors show up, not retries
fallbacks: {}
pricing:
  file: ""
  overrides: {}
spans:
  exporter: ${TRACEGATE_BENCH_SPANS:-otlp}
  protocol: http
  endpoint: ${TRACEGATE_BENCH_OTLP:-http://127.0.0.1:18081}
  headers: {}
  service_name: tracegate-bench
  capture_content: false
log: {level: warn, format: text}   # no per-request log lines in the measurement
`

// benchPromptSlug is the run API prompt the generated registry holds.
const benchPromptSlug = "bench"

func benchPrompt(model string) string {
	return fmt.Sprintf(`slug: %s
name: Bench
description: Load-test prompt; its model routes to the load tool's mock upstream.
versions:
  - version: 1
    model: %s
    maxOutputTokens: 32
    messages:
      - {role: system, content: "You are a load test. Answer briefly."}
      - {role: user, content: "Say hello to {{name}} in five words."}
`, benchPromptSlug, model)
}

// gatewayProcess is a tracegate the tool started and must stop.
type gatewayProcess struct {
	cmd     *exec.Cmd
	baseURL string
	logPath string
	exited  chan struct{}
	waitErr error
}

// gatewaySetup is what startTracegate needs: the binary, the config (empty: benchConfig), a
// scratch directory, and where the mock upstream and its span sink listen.
type gatewaySetup struct {
	bin        string
	configPath string
	dir        string
	model      string
	upstream   string
	otlp       string
	spans      string
	cpuProfile string // passed to tracegate's -cpuprofile when set
}

// startTracegate writes the bench prompt (and the config when none is given) into dir, starts
// tracegate on a free loopback port and waits until it accepts connections.
func startTracegate(ctx context.Context, s gatewaySetup) (*gatewayProcess, error) {
	prompts := filepath.Join(s.dir, "prompts")
	if err := os.MkdirAll(prompts, 0o755); err != nil {
		return nil, fmt.Errorf("prompts dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(prompts, benchPromptSlug+".yaml"), []byte(benchPrompt(s.model)), 0o644); err != nil {
		return nil, fmt.Errorf("write bench prompt: %w", err)
	}
	configPath := s.configPath
	if configPath == "" {
		configPath = filepath.Join(s.dir, "tracegate.yaml")
		if err := os.WriteFile(configPath, []byte(benchConfig), 0o644); err != nil {
			return nil, fmt.Errorf("write config: %w", err)
		}
	}
	listen, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(s.dir, "tracegate.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("tracegate log: %w", err)
	}
	defer logFile.Close()

	args := []string{"-config", configPath}
	if s.cpuProfile != "" {
		args = append(args, "-cpuprofile", s.cpuProfile)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(hermeticEnv(os.Environ()),
		"TRACEGATE_LISTEN="+listen,
		"TRACEGATE_BENCH_PROMPTS="+prompts,
		"TRACEGATE_BENCH_UPSTREAM="+s.upstream,
		"TRACEGATE_BENCH_OTLP="+s.otlp,
		"TRACEGATE_BENCH_SPANS="+s.spans,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start tracegate: %w", err)
	}
	g := &gatewayProcess{cmd: cmd, baseURL: "http://" + listen, logPath: logPath, exited: make(chan struct{})}
	go func() {
		g.waitErr = cmd.Wait()
		close(g.exited)
	}()
	if err := g.waitReady(ctx, listen, 15*time.Second); err != nil {
		_ = g.stop()
		return nil, fmt.Errorf("%w; log: %s", err, lastLines(logPath, 5))
	}
	return g, nil
}

// hermeticEnv drops OTEL_* variables, which would otherwise redirect or reshape span export.
func hermeticEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return out
}

func (g *gatewayProcess) pid() int { return g.cmd.Process.Pid }

func (g *gatewayProcess) waitReady(ctx context.Context, addr string, limit time.Duration) error {
	const poll = 20 * time.Millisecond
	for range int(limit / poll) {
		select {
		case <-g.exited:
			return fmt.Errorf("tracegate exited before listening: %v", g.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("waiting for tracegate: %w", ctx.Err())
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, poll); err == nil {
			_ = conn.Close()
			return nil
		}
		time.Sleep(poll)
	}
	return fmt.Errorf("tracegate did not listen on %s within %s", addr, limit)
}

// stop asks tracegate to drain and exit, and kills it if it has not within 10 s.
func (g *gatewayProcess) stop() error {
	select {
	case <-g.exited:
		return nil
	default:
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal tracegate: %w", err)
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-g.exited:
		return nil
	case <-timer.C:
		_ = g.cmd.Process.Kill()
		<-g.exited
		return errors.New("tracegate did not stop within 10s of SIGTERM; killed")
	}
}

// freeLoopbackAddr asks the kernel for a free port. Another process could take it before
// tracegate binds it; startTracegate then fails and says so, which is rare enough on loopback.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// lastLines returns the end of a log file for an error message.
func lastLines(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
