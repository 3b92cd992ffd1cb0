package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// phaseKind is one kind of measured load. Phases through a gateway are compared with the
// direct phase named by baseline, and tracegate's phases also with the null gateway phase
// named by nullBaseline, at the same concurrency.
type phaseKind struct {
	name         string
	viaGateway   bool // through tracegate
	viaNull      bool // through the null gateway
	stream       bool
	runAPI       bool
	baseline     string
	nullBaseline string
	// peerURL is a peer gateway's chat completions URL (-peer): the phase goes through it,
	// with the peer's own request headers (-peer-header).
	peerURL     string
	peerHeaders []headerField
}

var allPhases = []phaseKind{
	{name: "direct"},
	{name: "null", viaNull: true, baseline: "direct"},
	{name: "passthrough", viaGateway: true, baseline: "direct", nullBaseline: "null"},
	{name: "run-api", viaGateway: true, runAPI: true, baseline: "direct", nullBaseline: "null"},
	{name: "direct-stream", stream: true},
	{name: "null-stream", viaNull: true, stream: true, baseline: "direct-stream"},
	{name: "passthrough-stream", viaGateway: true, stream: true, baseline: "direct-stream", nullBaseline: "null-stream"},
}

// defaultPhases is every phase, in the order a reader compares them.
const defaultPhases = "direct,null,passthrough,run-api,direct-stream,null-stream,passthrough-stream"

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
	// Against the null gateway at the same concurrency: tracegate's own share, without the
	// extra loopback hop any gateway adds (tracegate phases only).
	AddedP50VsNullUS      *float64 `json:"added_p50_vs_null_us,omitempty"`
	AddedTTFBP50VsNullUS  *float64 `json:"added_ttfb_p50_vs_null_us,omitempty"`
	ThroughputRatioVsNull *float64 `json:"throughput_ratio_vs_null,omitempty"`
	// Round is the round the row comes from; RoundsRPS the throughput of every round, in
	// order, when there were several (-1: the round failed), and RoundsP50US and
	// RoundsTTFBP50US their median latency and time to first byte (-1: failed or, for the
	// first byte, not a stream). Rounds are interleaved, so round i of two phases ran close
	// together: the targets compare them pairwise to see whether the machine's noise decides.
	Round           int       `json:"round"`
	RoundsRPS       []float64 `json:"rounds_rps,omitempty"`
	RoundsP50US     []float64 `json:"rounds_p50_us,omitempty"`
	RoundsTTFBP50US []float64 `json:"rounds_ttfb_p50_us,omitempty"`
	kind            phaseKind
}

// nullFloor is what the null gateway adds over direct at concurrency 1: the cost of one extra
// loopback hop on this machine, which any gateway pays.
type nullFloor struct {
	AddedP50US     *float64 `json:"added_p50_us,omitempty"`
	AddedTTFBP50US *float64 `json:"added_ttfb_p50_us,omitempty"`
}

type compareReport struct {
	Gateway   string `json:"gateway,omitempty"`
	Upstream  string `json:"upstream"`
	Spans     string `json:"spans,omitempty"`
	IdleRSSKB int64  `json:"gateway_idle_rss_kb,omitempty"`
	PeakRSSKB int64  `json:"gateway_peak_rss_kb,omitempty"`
	// MockProcess says where the mock upstream ran: "own" (a process of its own, like the
	// gateway) or "in-process" (inside the load tool, -mock-inprocess).
	MockProcess string        `json:"mock_process"`
	Peers       []peerReport  `json:"peers,omitempty"`
	NullGateway string        `json:"null_gateway,omitempty"`
	NullFloor   *nullFloor    `json:"null_gateway_floor,omitempty"`
	Phases      []phaseResult `json:"phases"`
	Targets     []targetCheck `json:"targets"`
	Rounds      int           `json:"rounds"`
}

// peerReport names a peer gateway of the run (-peer).
type peerReport struct {
	Name    string `json:"name"`
	ChatURL string `json:"chat_url"`
	// Headers names the -peer-header headers sent to it; their values may be keys, so they
	// are not reported.
	Headers []string `json:"headers,omitempty"`
}

// comparison is a compare run in progress.
type comparison struct {
	opts    *compareOptions
	mock    *upstreamMock
	gateway string
	pid     int // 0 when the gateway's process is unknown
	proc    *gatewayProcess
	null    *childProcess // the null gateway, when a phase goes through it
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
	m, err := startUpstreamMock(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := m.stop(); err != nil {
			fmt.Fprintf(progress, "compare: %v\n", err)
		}
	}()
	c := &comparison{opts: o, mock: m, gateway: o.gateway, pid: o.gatewayPID, log: progress}
	report := &compareReport{Upstream: m.baseURL(), MockProcess: "own", Phases: []phaseResult{}}
	for _, p := range o.peers {
		pr := peerReport{Name: p.name, ChatURL: p.chatURL}
		for _, h := range p.headers {
			pr.Headers = append(pr.Headers, h.name)
		}
		report.Peers = append(report.Peers, pr)
		fmt.Fprintf(progress, "compare: peer %s at %s (it must route model %s to %s)\n", p.name, p.chatURL, o.request.model, m.baseURL())
	}
	if m.proc != nil {
		fmt.Fprintf(progress, "compare: mock upstream pid %d on %s\n", m.proc.pid(), m.addr)
	} else {
		report.MockProcess = "in-process"
	}
	if needsNullGateway(o.phases) {
		null, err := startSelf(ctx, "null gateway", []string{"nullgw", "-listen", "127.0.0.1:0",
			"-upstream", "http://" + m.addr, "-timeout", o.timeout.String(),
			"-d", childLifetime(o).String(), "-exit-on-stdin-eof"}, childReadyLimit)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := null.stop(); err != nil {
				fmt.Fprintf(progress, "compare: %v\n", err)
			}
		}()
		c.null, report.NullGateway = null, "http://"+null.addr
		fmt.Fprintf(progress, "compare: null gateway pid %d on %s\n", null.pid(), null.addr)
	}
	if o.tracegateBin != "" {
		dir, err := os.MkdirTemp("", "tracegate-load-*")
		if err != nil {
			return nil, fmt.Errorf("scratch dir: %w", err)
		}
		defer os.RemoveAll(dir)
		g, err := startTracegate(ctx, gatewaySetup{bin: o.tracegateBin, configPath: o.tracegateConfig, dir: dir,
			model: o.request.model, upstream: m.baseURL(), otlp: m.otlpURL(), spans: o.spans, cpuProfile: o.cpuProfile})
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
	// Every phase runs at one concurrency before any runs at the next, so that the rows
	// compared with each other (direct, the null gateway, tracegate, peers at the same
	// concurrency) are measured close together in time, through the same spell of load from
	// whatever else the machine runs. The report lists them by phase, as before.
	// With rounds, all phases at a concurrency run once per round, interleaved, and each
	// row is the phase's round of median throughput: one slow spell of the machine then
	// moves one round of each phase, not a whole phase.
	report.Rounds = o.rounds
	for _, conc := range o.concurrency {
		rounds := make([][]phaseResult, len(o.phases))
		for round := 1; round <= o.rounds; round++ {
			for i, kind := range o.phases {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("interrupted: %w", ctx.Err())
				}
				r := c.runPhase(ctx, kind, conc)
				r.Round = round
				fmt.Fprintln(progress, "compare: "+progressLine(r))
				rounds[i] = append(rounds[i], r)
			}
		}
		for _, rs := range rounds {
			report.Phases = append(report.Phases, medianRound(rs))
		}
	}
	byPhase(report.Phases, o)
	if c.pid > 0 {
		if mem, err := readMemory(c.pid); err == nil {
			report.PeakRSSKB = mem.peak
		}
	}
	addRatios(report.Phases)
	report.NullFloor = floorOf(report.Phases)
	report.Targets = checkTargets(report, o.mock.chunkDelay)
	return report, nil
}

func (c *comparison) runPhase(ctx context.Context, kind phaseKind, conc int) phaseResult {
	r := phaseResult{Phase: kind.name, Concurrency: conc, kind: kind}
	body := chatBody(c.opts.request.model, kind.stream)
	switch {
	case kind.viaNull:
		if c.null == nil {
			r.Error = "the null gateway is not running"
			return r
		}
		r.Target = "http://" + c.null.addr + "/v1/chat/completions"
	case kind.peerURL != "":
		r.Target = kind.peerURL
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
	if kind.viaNull {
		if err := c.null.exitError(); err != nil {
			r.Error = err.Error()
			return r
		}
	}
	if err := c.mock.exitError(); err != nil {
		r.Error = err.Error()
		return r
	}
	req, err := newRequester(requestSpec{target: r.Target, body: body, stream: kind.stream, timeout: c.opts.timeout,
		authKey: c.opts.request.authKey, headers: kind.peerHeaders}, conc)
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
	upstreamBefore, errBefore := c.mock.requestCount()
	s := runLoad(ctx, plan)
	if upstreamAfter, errAfter := c.mock.requestCount(); errBefore == nil && errAfter == nil {
		r.UpstreamRequests = upstreamAfter - upstreamBefore
	} else {
		r.UpstreamRequests = -1 // unknown
	}
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

// maxRounds bounds -rounds.
const maxRounds = 15

// medianRound is the round of a phase whose throughput is the median of its rounds (the
// lower middle one for an even count); a failed round counts as the slowest.
func medianRound(rs []phaseResult) phaseResult {
	sorted := slices.Clone(rs)
	measured := func(r phaseResult) bool { return r.Summary != nil && r.Error == "" }
	rps := func(r phaseResult) float64 {
		if !measured(r) {
			return -1
		}
		return r.Summary.RPS
	}
	slices.SortStableFunc(sorted, func(a, b phaseResult) int { return cmp.Compare(rps(a), rps(b)) })
	m := sorted[(len(sorted)-1)/2]
	if len(rs) > 1 {
		for _, r := range rs {
			p50, ttfb := -1.0, -1.0
			if measured(r) {
				p50 = r.Summary.LatencyUS.P50
				if r.Summary.TTFBUS != nil {
					ttfb = r.Summary.TTFBUS.P50
				}
			}
			m.RoundsRPS = append(m.RoundsRPS, rps(r))
			m.RoundsP50US = append(m.RoundsP50US, p50)
			m.RoundsTTFBP50US = append(m.RoundsTTFBP50US, ttfb)
		}
	}
	return m
}

// byPhase orders results by phase, then concurrency, in the order the options list them.
func byPhase(results []phaseResult, o *compareOptions) {
	rank := func(r phaseResult) (int, int) {
		p, c := len(o.phases), len(o.concurrency)
		for i, k := range o.phases {
			if k.name == r.Phase {
				p = i
			}
		}
		for i, v := range o.concurrency {
			if v == r.Concurrency {
				c = i
			}
		}
		return p, c
	}
	slices.SortStableFunc(results, func(a, b phaseResult) int {
		pa, ca := rank(a)
		pb, cb := rank(b)
		return cmp.Or(cmp.Compare(pa, pb), cmp.Compare(ca, cb))
	})
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

// addRatios compares each gateway phase with its baseline (direct) at the same concurrency,
// and each tracegate phase with its null gateway phase too.
func addRatios(results []phaseResult) {
	for i := range results {
		r := &results[i]
		if r.Summary == nil || r.Error != "" {
			continue
		}
		if b := findPhase(results, r.kind.baseline, r.Concurrency); b != nil {
			r.AddedP50US, r.AddedTTFBP50US, r.ThroughputRatio = differences(r.Summary, b.Summary)
		}
		if b := findPhase(results, r.kind.nullBaseline, r.Concurrency); b != nil {
			r.AddedP50VsNullUS, r.AddedTTFBP50VsNullUS, r.ThroughputRatioVsNull = differences(r.Summary, b.Summary)
		}
	}
}

// differences is what s adds over base: median latency and time to first byte (streams
// only) in µs, and the throughput ratio (nil when base served nothing).
func differences(s, base *summary) (addedP50, addedTTFB, throughput *float64) {
	added := s.LatencyUS.P50 - base.LatencyUS.P50
	addedP50 = &added
	if base.RPS > 0 {
		ratio := s.RPS / base.RPS
		throughput = &ratio
	}
	if s.TTFBUS != nil && base.TTFBUS != nil {
		ttfb := s.TTFBUS.P50 - base.TTFBUS.P50
		addedTTFB = &ttfb
	}
	return addedP50, addedTTFB, throughput
}

// floorOf reads the null gateway's cost over direct at concurrency 1, or nil if neither null
// phase was measured.
func floorOf(results []phaseResult) *nullFloor {
	var f nullFloor
	if r := findPhase(results, "null", 1); r != nil {
		f.AddedP50US = r.AddedP50US
	}
	if r := findPhase(results, "null-stream", 1); r != nil {
		f.AddedTTFBP50US = r.AddedTTFBP50US
	}
	if f.AddedP50US == nil && f.AddedTTFBP50US == nil {
		return nil
	}
	return &f
}

func needsNullGateway(phases []phaseKind) bool {
	for _, p := range phases {
		if p.viaNull {
			return true
		}
	}
	return false
}

// childLifetime bounds how long compare's child processes serve: every phase at its longest,
// plus a margin. They normally stop long before, when compare closes their stdin.
func childLifetime(o *compareOptions) time.Duration {
	runs := time.Duration(len(o.phases) * len(o.concurrency))
	return runs*(o.duration+o.warmup+2*o.timeout) + 10*time.Minute
}

// upstreamMock is the mock upstream compare measures against: a process of its own (the
// default, so a direct call crosses processes as one through a gateway does) or, with
// -mock-inprocess, a server inside this process.
type upstreamMock struct {
	addr   string
	proc   *childProcess // nil when in process
	inproc *mockUpstream // nil when a child process
}

func startUpstreamMock(ctx context.Context, o *compareOptions) (*upstreamMock, error) {
	if o.mockInProcess {
		m, err := startMock(o.mockAddr, o.mock)
		if err != nil {
			return nil, err
		}
		return &upstreamMock{addr: m.ln.Addr().String(), inproc: m}, nil
	}
	p, err := startSelf(ctx, "mock upstream", []string{"mock", "-listen", o.mockAddr,
		"-mock-delay", o.mock.delay.String(), "-mock-chunks", strconv.Itoa(o.mock.chunks),
		"-mock-chunk-delay", o.mock.chunkDelay.String(),
		"-d", childLifetime(o).String(), "-exit-on-stdin-eof"}, childReadyLimit)
	if err != nil {
		return nil, err
	}
	return &upstreamMock{addr: p.addr, proc: p}, nil
}

func (u *upstreamMock) baseURL() string { return "http://" + u.addr + "/v1" }
func (u *upstreamMock) chatURL() string { return u.baseURL() + "/chat/completions" }

// otlpURL is the base an OTLP/HTTP exporter appends /v1/traces to: the mock sinks spans.
func (u *upstreamMock) otlpURL() string { return "http://" + u.addr }

func (u *upstreamMock) exitError() error {
	if u.proc == nil {
		return nil
	}
	return u.proc.exitError()
}

// requestCount is how many chat requests the mock has served so far.
func (u *upstreamMock) requestCount() (int64, error) {
	if u.inproc != nil {
		return u.inproc.requests.Load(), nil
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + u.addr + mockStatsPath)
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		return 0, fmt.Errorf("mock stats: %w", err)
	}
	var stats struct {
		Requests int64 `json:"requests"`
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return 0, fmt.Errorf("mock stats: HTTP %d", resp.StatusCode())
	}
	if err := json.Unmarshal(resp.Body(), &stats); err != nil {
		return 0, fmt.Errorf("mock stats: %w", err)
	}
	return stats.Requests, nil
}

func (u *upstreamMock) stop() error {
	if u.proc != nil {
		return u.proc.stop()
	}
	grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return u.inproc.shutdown(grace)
}
