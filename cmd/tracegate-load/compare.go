package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// phaseKind is one kind of measured load. Phases through the gateway are compared with the
// direct phase named by baseline, at the same concurrency.
type phaseKind struct {
	name       string
	viaGateway bool
	stream     bool
	runAPI     bool
	baseline   string
}

var allPhases = []phaseKind{
	{name: "direct"},
	{name: "passthrough", viaGateway: true, baseline: "direct"},
	{name: "run-api", viaGateway: true, runAPI: true, baseline: "direct"},
	{name: "direct-stream", stream: true},
	{name: "passthrough-stream", viaGateway: true, stream: true, baseline: "direct-stream"},
}

// phaseResult is one phase at one concurrency. Error is set when the phase could not be
// measured; the run goes on with the next phase.
type phaseResult struct {
	Phase            string   `json:"phase"`
	Concurrency      int      `json:"concurrency"`
	Target           string   `json:"target"`
	Summary          *summary `json:"summary,omitempty"`
	Error            string   `json:"error,omitempty"`
	CPUPerRequestUS  *float64 `json:"gateway_cpu_us_per_request,omitempty"`
	RSSKB            int64    `json:"gateway_rss_kb,omitempty"`
	UpstreamRequests int64    `json:"upstream_requests"`
	AddedP50US       *float64 `json:"added_p50_us,omitempty"`
	ThroughputRatio  *float64 `json:"throughput_ratio,omitempty"`
	AddedTTFBP50US   *float64 `json:"added_ttfb_p50_us,omitempty"`
	kind             phaseKind
}

type compareReport struct {
	Gateway   string        `json:"gateway,omitempty"`
	Upstream  string        `json:"upstream"`
	Spans     string        `json:"spans,omitempty"`
	IdleRSSKB int64         `json:"gateway_idle_rss_kb,omitempty"`
	PeakRSSKB int64         `json:"gateway_peak_rss_kb,omitempty"`
	Phases    []phaseResult `json:"phases"`
	Targets   []targetCheck `json:"targets"`
}

// comparison is a compare run in progress.
type comparison struct {
	opts    *compareOptions
	mock    *mockUpstream
	gateway string
	pid     int // 0 when the gateway's process is unknown
	proc    *gatewayProcess
	log     io.Writer
}

func runCompareCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseCompareFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load compare: %v\n", err)
		return exitUsage
	}
	report, err := compare(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load compare: %v\n", err)
		return exitFailure
	}
	md := renderMarkdown(report, o)
	if o.markdownPath != "" {
		if err := os.WriteFile(o.markdownPath, []byte(md), 0o644); err != nil {
			fmt.Fprintf(stderr, "tracegate-load compare: write markdown: %v\n", err)
			return exitFailure
		}
	}
	if o.jsonOut {
		err = writeJSON(stdout, report)
	} else {
		_, err = io.WriteString(stdout, md)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tracegate-load compare: %v\n", err)
		return exitFailure
	}
	for _, p := range report.Phases {
		if p.Error != "" {
			return exitPhasesFailed
		}
	}
	return exitOK
}

// compare runs every phase at every concurrency. Only setup failures are errors; a phase that
// fails is recorded in its result and the next one runs.
func compare(ctx context.Context, o *compareOptions, progress io.Writer) (*compareReport, error) {
	m, err := startMock(o.mockAddr, o.mock)
	if err != nil {
		return nil, err
	}
	defer func() {
		grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.shutdown(grace)
	}()
	c := &comparison{opts: o, mock: m, gateway: o.gateway, pid: o.gatewayPID, log: progress}
	report := &compareReport{Upstream: m.baseURL(), Phases: []phaseResult{}}
	if o.tracegateBin != "" {
		dir, err := os.MkdirTemp("", "tracegate-load-*")
		if err != nil {
			return nil, fmt.Errorf("scratch dir: %w", err)
		}
		defer os.RemoveAll(dir)
		g, err := startTracegate(ctx, gatewaySetup{bin: o.tracegateBin, configPath: o.tracegateConfig, dir: dir,
			model: o.request.model, upstream: m.baseURL(), otlp: m.otlpURL(), spans: o.spans})
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := g.stop(); err != nil {
				fmt.Fprintf(progress, "compare: %v\n", err)
			}
		}()
		c.proc, c.gateway, c.pid, report.Spans = g, g.baseURL, g.pid(), o.spans
		fmt.Fprintf(progress, "compare: tracegate pid %d on %s, upstream %s\n", c.pid, c.gateway, m.baseURL())
	}
	report.Gateway = c.gateway
	if c.pid > 0 {
		time.Sleep(300 * time.Millisecond) // let start-up allocations settle before "idle"
		if mem, err := readMemory(c.pid); err == nil {
			report.IdleRSSKB = mem.rss
		}
	}
	for _, kind := range o.phases {
		for _, conc := range o.concurrency {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("interrupted: %w", ctx.Err())
			}
			r := c.runPhase(ctx, kind, conc)
			fmt.Fprintln(progress, "compare: "+progressLine(r))
			report.Phases = append(report.Phases, r)
		}
	}
	if c.pid > 0 {
		if mem, err := readMemory(c.pid); err == nil {
			report.PeakRSSKB = mem.peak
		}
	}
	addRatios(report.Phases)
	report.Targets = checkTargets(report, o.mock.chunkDelay)
	return report, nil
}

func (c *comparison) runPhase(ctx context.Context, kind phaseKind, conc int) phaseResult {
	r := phaseResult{Phase: kind.name, Concurrency: conc, kind: kind}
	body := chatBody(c.opts.request.model, kind.stream)
	switch {
	case !kind.viaGateway:
		r.Target = c.mock.chatURL()
	case kind.runAPI:
		r.Target = c.gateway + "/api/v1/prompts/" + benchPromptSlug + "/run"
		var err error
		if body, err = runBody(c.opts.request.vars); err != nil {
			r.Error = err.Error()
			return r
		}
	default:
		r.Target = c.gateway + "/v1/chat/completions"
	}
	// A -body file is a chat request of one kind, so it replaces only the non-streaming one.
	if c.opts.request.bodyFile != "" && !kind.runAPI && !kind.stream {
		b, err := requestBody(c.opts.request, kind.stream)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		body = b
	}
	if kind.viaGateway && c.proc != nil {
		select {
		case <-c.proc.exited:
			r.Error = fmt.Sprintf("tracegate exited (%v); log: %s", c.proc.waitErr, lastLines(c.proc.logPath, 3))
			return r
		default:
		}
	}
	req, err := newRequester(r.Target, body, kind.stream, conc, c.opts.timeout, c.opts.request.authKey)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer req.close()

	// One request first: a phase that cannot work (404 before the endpoint exists, a bad
	// route) fails in one round trip instead of hammering for the whole phase.
	probe := runLoad(ctx, loadPlan{requester: req, concurrency: 1, duration: c.opts.timeout, requests: 1})
	if probe.OK == 0 {
		r.Error = "probe request failed: " + describeErrors(probe)
		return r
	}
	plan := loadPlan{requester: req, concurrency: conc, duration: c.opts.duration, requests: c.opts.requests}
	if c.opts.warmup > 0 {
		warm := plan
		warm.duration, warm.requests = c.opts.warmup, maxRequestsCap
		runLoad(ctx, warm)
	}
	measureGateway := kind.viaGateway && c.pid > 0
	var cpuBefore time.Duration
	if measureGateway {
		cpuBefore, _ = cpuTime(c.pid)
	}
	upstreamBefore := c.mock.requests.Load()
	s := runLoad(ctx, plan)
	r.UpstreamRequests = c.mock.requests.Load() - upstreamBefore
	r.Summary = &s
	if measureGateway {
		if cpuAfter, err := cpuTime(c.pid); err == nil && s.Requests > 0 {
			perRequest := micros(cpuAfter-cpuBefore) / float64(s.Requests)
			r.CPUPerRequestUS = &perRequest
		}
		if mem, err := readMemory(c.pid); err == nil {
			r.RSSKB = mem.rss
		}
	}
	if s.OK == 0 {
		r.Error = "every request failed: " + describeErrors(s)
	}
	return r
}

// describeErrors names the commonest error kind with an example, for a failed phase's row.
func describeErrors(s summary) string {
	if len(s.Errors) == 0 {
		return "no request completed"
	}
	e := s.Errors[0]
	return fmt.Sprintf("%s ×%d: %s", e.Kind, e.Count, oneLine(e.Example))
}

func progressLine(r phaseResult) string {
	head := fmt.Sprintf("%-18s c=%-3d", r.Phase, r.Concurrency)
	if r.Error != "" {
		return head + " FAILED: " + r.Error
	}
	s := r.Summary
	line := fmt.Sprintf("%s %9.1f req/s  p50 %s  p99 %s", head, s.RPS, formatMicros(s.LatencyUS.P50), formatMicros(s.LatencyUS.P99))
	if s.TTFBUS != nil {
		line += "  ttfb p50 " + formatMicros(s.TTFBUS.P50)
	}
	if s.Failed > 0 {
		line += fmt.Sprintf("  (%d failed)", s.Failed)
	}
	return line
}

// addRatios compares each gateway phase with its baseline at the same concurrency.
func addRatios(results []phaseResult) {
	for i := range results {
		r := &results[i]
		if r.kind.baseline == "" || r.Summary == nil || r.Error != "" {
			continue
		}
		for _, b := range results {
			if b.Phase != r.kind.baseline || b.Concurrency != r.Concurrency || b.Summary == nil || b.Error != "" {
				continue
			}
			added := r.Summary.LatencyUS.P50 - b.Summary.LatencyUS.P50
			r.AddedP50US = &added
			if b.Summary.RPS > 0 {
				ratio := r.Summary.RPS / b.Summary.RPS
				r.ThroughputRatio = &ratio
			}
			if r.Summary.TTFBUS != nil && b.Summary.TTFBUS != nil {
				ttfb := r.Summary.TTFBUS.P50 - b.Summary.TTFBUS.P50
				r.AddedTTFBP50US = &ttfb
			}
		}
	}
}
