package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// runLoadCommand is the default mode: one run against one URL.
func runLoadCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseLoadFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load: %v\n", err)
		return exitUsage
	}
	if o.mockAddr != "" {
		m, err := startMock(o.mockAddr, o.mock)
		if err != nil {
			fmt.Fprintf(stderr, "tracegate-load: %v\n", err)
			return exitFailure
		}
		defer func() {
			grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = m.shutdown(grace)
		}()
		fmt.Fprintf(stderr, "mock upstream: openai base_url %s\n", m.baseURL())
		if o.target == "" {
			o.target = m.chatURL()
		}
	}
	body, err := requestBody(o.request, o.stream)
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load: %v\n", err)
		return exitUsage
	}
	req, err := newRequester(requestSpec{target: o.target, body: body, stream: o.stream, timeout: o.timeout,
		authKey: o.request.authKey}, max(o.concurrency, o.maxInFlight))
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load: %v\n", err)
		return exitUsage
	}
	defer req.close()
	plan := loadPlan{requester: req, concurrency: o.concurrency, rate: o.rate, maxInFlight: o.maxInFlight,
		duration: o.duration, requests: o.requests}
	if o.warmup > 0 {
		warm := plan
		warm.duration, warm.requests = o.warmup, maxRequestsCap
		runLoad(ctx, warm)
	}
	s := runLoad(ctx, plan)
	if o.jsonOut {
		err = writeJSON(stdout, s)
	} else {
		err = writeText(stdout, s)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load: %v\n", err)
		return exitFailure
	}
	if s.OK == 0 {
		return exitFailure
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func writeText(w io.Writer, s summary) error {
	var b strings.Builder
	kind := "non-streaming"
	if s.Stream {
		kind = "streaming"
	}
	shape := fmt.Sprintf("closed loop, c=%d", s.Concurrency)
	if s.Loop == "open" {
		shape = fmt.Sprintf("open loop, %.0f req/s, max in flight %d", s.Rate, s.MaxInFlight)
	}
	fmt.Fprintf(&b, "target      %s (%s, %s)\n", s.Target, kind, shape)
	fmt.Fprintf(&b, "requests    %d in %.2fs: %d ok, %d failed, %d dropped\n", s.Requests, s.ElapsedS, s.OK, s.Failed, s.Dropped)
	fmt.Fprintf(&b, "throughput  %.1f req/s (successful)\n", s.RPS)
	fmt.Fprintf(&b, "latency     %s\n", formatPercentiles(s.LatencyUS))
	if s.TTFBUS != nil {
		fmt.Fprintf(&b, "ttfb        %s\n", formatPercentiles(*s.TTFBUS))
		fmt.Fprintf(&b, "chunks      %.1f data events per stream\n", s.ChunksMean)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "error       %-30s %d  e.g. %s\n", e.Kind, e.Count, oneLine(e.Example))
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func formatPercentiles(p percentiles) string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  mean %s",
		formatMicros(p.P50), formatMicros(p.P90), formatMicros(p.P99), formatMicros(p.Max), formatMicros(p.Mean))
}

// formatMicros prints microseconds at a precision a reader can compare: µs below 10 ms.
func formatMicros(us float64) string {
	if us >= 10_000 {
		return fmt.Sprintf("%.1fms", us/1000)
	}
	return fmt.Sprintf("%.0fµs", us)
}

// oneLine keeps an error example on one short line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 160 {
		s = string(r[:160]) + "..."
	}
	return s
}
