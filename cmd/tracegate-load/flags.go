package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bounds applied when the user gives only one of -d and -n, so that every run ends by itself.
const (
	defaultDuration    = 10 * time.Second
	maxDurationIfCount = 5 * time.Minute
	maxRequestsCap     = 50_000_000
	defaultTarget      = "http://127.0.0.1:8080/v1/chat/completions"
)

// loadOptions are the flags of the load mode; compare reuses the request and mock parts.
type loadOptions struct {
	target      string
	concurrency int
	rate        float64
	maxInFlight int
	duration    time.Duration
	requests    int
	warmup      time.Duration
	timeout     time.Duration
	stream      bool
	jsonOut     bool
	mockAddr    string
	request     requestOptions
	mock        mockOptions
}

// requestOptions describe the request body and headers.
type requestOptions struct {
	model    string
	bodyFile string
	runAPI   bool
	vars     string
	authKey  string
}

// mockOptions shape the mock upstream's replies.
type mockOptions struct {
	delay      time.Duration
	chunks     int
	chunkDelay time.Duration
}

func addRequestFlags(fs *flag.FlagSet, r *requestOptions) {
	fs.StringVar(&r.model, "model", "gpt-4o-mini", "model of the default chat request")
	fs.StringVar(&r.bodyFile, "body", "", "file whose bytes are the request body (overrides -model and -vars; compare: non-streaming chat phases only)")
	fs.BoolVar(&r.runAPI, "run-api", false, `POST {"variables":{...}} (a tracegate run API body) instead of a chat request`)
	fs.StringVar(&r.vars, "vars", "name=bench", "run API variables as k=v,k=v")
	fs.StringVar(&r.authKey, "auth", "", "bearer key sent in Authorization")
}

func addMockFlags(fs *flag.FlagSet, m *mockOptions) {
	fs.DurationVar(&m.delay, "mock-delay", 0, "mock upstream: fixed delay before each reply")
	fs.IntVar(&m.chunks, "mock-chunks", 8, "mock upstream: chunks per streamed reply, before the usage chunk and [DONE]")
	fs.DurationVar(&m.chunkDelay, "mock-chunk-delay", 0, "mock upstream: delay between streamed chunks")
}

func parseLoadFlags(args []string, stderr io.Writer) (*loadOptions, error) {
	o := &loadOptions{}
	fs := flag.NewFlagSet("tracegate-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.target, "target", "", "URL to POST to (loopback only; default "+defaultTarget+", or the mock with -mock-upstream)")
	fs.IntVar(&o.concurrency, "c", 1, "closed loop: number of concurrent workers")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second (0 = closed loop at -c)")
	fs.IntVar(&o.maxInFlight, "max-inflight", 256, "open loop: requests in flight at most; sends due while full are dropped and counted")
	fs.DurationVar(&o.duration, "d", 0, "measured duration (default 10s, or up to 5m with -n)")
	fs.IntVar(&o.requests, "n", 0, "measured request count (0 = until -d)")
	fs.DurationVar(&o.warmup, "warmup", 0, "unmeasured warm-up before the run, same load shape")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout, whole stream included")
	fs.BoolVar(&o.stream, "stream", false, "stream: ask for SSE and measure time to first byte and whole-stream time")
	fs.BoolVar(&o.jsonOut, "json", false, "print the result as JSON")
	fs.StringVar(&o.mockAddr, "mock-upstream", "", "start the mock upstream on this loopback address first (e.g. 127.0.0.1:0)")
	addRequestFlags(fs, &o.request)
	addMockFlags(fs, &o.mock)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o.duration, o.requests = runBounds(o.duration, o.requests)
	var errs []error
	if o.target != "" {
		if _, err := loopbackURL(o.target); err != nil {
			errs = append(errs, fmt.Errorf("-target: %w", err))
		}
	} else if o.mockAddr == "" {
		o.target = defaultTarget
	}
	if o.mockAddr != "" {
		if err := loopbackAddr(o.mockAddr); err != nil {
			errs = append(errs, fmt.Errorf("-mock-upstream: %w", err))
		}
	}
	if o.concurrency < 1 {
		errs = append(errs, errors.New("-c must be at least 1"))
	}
	if o.rate < 0 || o.maxInFlight < 1 {
		errs = append(errs, errors.New("-rate must not be negative and -max-inflight must be at least 1"))
	}
	if o.timeout <= 0 || o.warmup < 0 || o.duration <= 0 {
		errs = append(errs, errors.New("-timeout and -d must be positive, -warmup not negative"))
	}
	errs = append(errs, o.mock.validate())
	return o, errors.Join(errs...)
}

// runBounds applies the defaults that make every run bounded in both time and count.
func runBounds(d time.Duration, n int) (time.Duration, int) {
	if d == 0 {
		d = defaultDuration
		if n > 0 {
			d = maxDurationIfCount
		}
	}
	if n <= 0 || n > maxRequestsCap {
		n = maxRequestsCap
	}
	return d, n
}

func (m mockOptions) validate() error {
	if m.chunks < 1 || m.chunks > 10_000 {
		return errors.New("-mock-chunks must be between 1 and 10000")
	}
	if m.delay < 0 || m.chunkDelay < 0 {
		return errors.New("-mock-delay and -mock-chunk-delay must not be negative")
	}
	return nil
}

// loopbackURL accepts only http(s) URLs whose host is a loopback address or "localhost".
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: want an http or https URL", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%q: host must be a loopback address (127.0.0.0/8, ::1, localhost)", raw)
	}
	return u, nil
}

// loopbackAddr accepts only host:port listen addresses on a loopback interface.
func loopbackAddr(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("parse %q: %w", hostport, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("%q: host must be a loopback address (127.0.0.0/8, ::1, localhost)", hostport)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseConcurrencyList reads "1,16" into [1 16].
func parseConcurrencyList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("concurrency %q: want an integer from 1 to 4096", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty concurrency list")
	}
	return out, nil
}

type compareOptions struct {
	tracegateBin    string
	tracegateConfig string
	gateway         string
	gatewayPID      int
	mockAddr        string
	mockInProcess   bool
	concurrency     []int
	phases          []phaseKind
	duration        time.Duration
	requests        int
	warmup          time.Duration
	timeout         time.Duration
	spans           string
	jsonOut         bool
	markdownPath    string
	request         requestOptions
	mock            mockOptions
	peers           []peerGateway
	cpuProfile      string
	rounds          int
}

func parseCompareFlags(args []string, stderr io.Writer) (*compareOptions, error) {
	o := &compareOptions{}
	fs := flag.NewFlagSet("tracegate-load compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.tracegateBin, "tracegate-bin", "", "tracegate binary to start (preferred: CPU and RSS are then measured)")
	fs.StringVar(&o.tracegateConfig, "tracegate-config", "", "config for the started tracegate (default: a generated one; see scripts/bench-config.yaml)")
	fs.StringVar(&o.gateway, "gateway", "", "base URL of a running gateway instead, e.g. http://127.0.0.1:8080 (it must route models to -mock-upstream)")
	fs.IntVar(&o.gatewayPID, "gateway-pid", 0, "with -gateway: its process id, to measure CPU and RSS")
	fs.StringVar(&o.mockAddr, "mock-upstream", "127.0.0.1:0", "loopback address of the mock upstream")
	fs.BoolVar(&o.mockInProcess, "mock-inprocess", false, "run the mock upstream inside this process (the old way: direct calls then skip the process hop a gateway's calls pay)")
	concurrency := fs.String("concurrency", "1,16", "comma-separated concurrency levels, each phase runs at each")
	phases := fs.String("phases", defaultPhases, "phases to run, in this order: direct, null (through the null gateway), passthrough, run-api, direct-stream, null-stream, passthrough-stream")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "measured duration of each phase")
	fs.IntVar(&o.requests, "n", 0, "measured request count of each phase (0 = until -d)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each phase")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds of all phases at each concurrency, interleaved; each row is the phase's round of median throughput")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.StringVar(&o.spans, "spans", "otlp", "span exporter of the started tracegate: otlp (to the mock's sink) or none")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of markdown")
	fs.StringVar(&o.markdownPath, "markdown", "", "also write the markdown report to this file")
	fs.StringVar(&o.cpuProfile, "tracegate-cpuprofile", "", "with -tracegate-bin: the started tracegate writes a CPU profile of the whole run to this file")
	fs.Var(peerFlags{&o.peers}, "peer", "NAME=URL: another gateway to measure in the same run, as rows NAME and NAME-stream "+
		"(repeatable; URL is its loopback base URL; it must route -model to the mock, so fix -mock-upstream)")
	var peerHeaders []string
	fs.Var(peerHeaderFlags{&peerHeaders}, "peer-header", "NAME=Header: value: a header sent with every request to peer NAME "+
		"(repeatable; for gateways routed per request, e.g. 'portkey=x-portkey-provider: openai')")
	addRequestFlags(fs, &o.request)
	addMockFlags(fs, &o.mock)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	var err error
	if o.concurrency, err = parseConcurrencyList(*concurrency); err != nil {
		errs = append(errs, fmt.Errorf("-concurrency: %w", err))
	}
	if err := attachPeerHeaders(o.peers, peerHeaders); err != nil {
		errs = append(errs, fmt.Errorf("-peer-header: %w", err))
	}
	if o.phases, err = parsePhases(*phases); err != nil {
		errs = append(errs, fmt.Errorf("-phases: %w", err))
	} else if o.phases, err = withPeerPhases(o.phases, o.peers); err != nil {
		errs = append(errs, fmt.Errorf("-peer: %w", err))
	}
	if len(o.peers) > 0 && strings.HasSuffix(o.mockAddr, ":0") {
		errs = append(errs, errors.New("-peer needs a fixed -mock-upstream address (not port 0): the peer must be configured to route to it before the run"))
	}
	if o.cpuProfile != "" && o.tracegateBin == "" {
		errs = append(errs, errors.New("-tracegate-cpuprofile needs -tracegate-bin"))
	}
	if o.tracegateBin != "" && o.gateway != "" {
		errs = append(errs, errors.New("-tracegate-bin and -gateway are exclusive"))
	}
	if o.gateway != "" {
		if _, err := loopbackURL(o.gateway); err != nil {
			errs = append(errs, fmt.Errorf("-gateway: %w", err))
		}
		o.gateway = strings.TrimRight(o.gateway, "/")
	}
	if o.tracegateBin == "" && o.gateway == "" && needsGateway(o.phases) {
		errs = append(errs, errors.New("phases through the gateway need -tracegate-bin or -gateway"))
	}
	if o.spans != "otlp" && o.spans != "none" {
		errs = append(errs, fmt.Errorf("-spans %q: want otlp or none", o.spans))
	}
	if err := loopbackAddr(o.mockAddr); err != nil {
		errs = append(errs, fmt.Errorf("-mock-upstream: %w", err))
	}
	if o.duration <= 0 || o.timeout <= 0 || o.warmup < 0 {
		errs = append(errs, errors.New("-d and -timeout must be positive, -warmup not negative"))
	}
	if o.rounds < 1 || o.rounds > maxRounds {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1 to %d", o.rounds, maxRounds))
	}
	errs = append(errs, o.mock.validate())
	o.duration, o.requests = runBounds(o.duration, o.requests)
	return o, errors.Join(errs...)
}

func parsePhases(s string) ([]phaseKind, error) {
	var out []phaseKind
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, p := range allPhases {
			if p.name == name {
				out, found = append(out, p), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown phase %q", name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no phases")
	}
	return out, nil
}

func needsGateway(phases []phaseKind) bool {
	for _, p := range phases {
		if p.viaGateway {
			return true
		}
	}
	return false
}
