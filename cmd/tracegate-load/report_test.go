package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func jsonKeys(t *testing.T, raw []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return m
}

func sortedKeys(m map[string]json.RawMessage) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func TestSummaryJSONShape(t *testing.T) {
	rec := newRecorder(1)
	rec.add(outcome{latency: time.Millisecond}, false)
	s := summarize(rec, time.Second, false)
	s.Target, s.Loop, s.Concurrency = "http://127.0.0.1:1/", "closed", 1
	var buf bytes.Buffer
	if err := writeJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	m := jsonKeys(t, buf.Bytes())
	if got, want := sortedKeys(m), "concurrency,dropped,elapsed_s,errors,failed,latency_us,loop,ok,requests,rps,stream,target"; got != want {
		t.Errorf("keys %s, want %s", got, want)
	}
	if string(m["errors"]) != "[]" {
		t.Errorf("errors is %s: an empty list, never null, so consumers can iterate", m["errors"])
	}
	if got := sortedKeys(jsonKeys(t, m["latency_us"])); got != "max,mean,p50,p90,p99" {
		t.Errorf("latency keys %s", got)
	}

	rec.add(outcome{errKind: "HTTP 500", errDetail: "boom"}, true)
	s = summarize(rec, time.Second, true)
	buf.Reset()
	if err := writeJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	m = jsonKeys(t, buf.Bytes())
	if _, ok := m["ttfb_us"]; !ok {
		t.Error("a stream summary has ttfb_us")
	}
	var errs []map[string]any
	if err := json.Unmarshal(m["errors"], &errs); err != nil || len(errs) != 1 || errs[0]["kind"] != "HTTP 500" || errs[0]["count"] != 1.0 || errs[0]["example"] != "boom" {
		t.Errorf("errors %s", m["errors"])
	}
}

func TestLoadCommandAgainstItsOwnMock(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-mock-upstream", "127.0.0.1:0", "-n", "20", "-c", "2", "-stream", "-json"}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.OK != 20 || !s.Stream || s.ChunksMean != 9 || !strings.Contains(errOut.String(), "mock upstream") {
		t.Errorf("summary %+v, stderr %q", s, errOut.String())
	}

	out.Reset()
	if code := run(context.Background(), []string{"-mock-upstream", "127.0.0.1:0", "-n", "5"}, &out, io.Discard); code != exitOK ||
		!strings.Contains(out.String(), "throughput") || !strings.Contains(out.String(), "5 ok") {
		t.Errorf("text report (exit %d):\n%s", code, out.String())
	}
	if code := run(context.Background(), []string{"-target", "http://192.0.2.1/"}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("a non-loopback target: exit %d, want %d", code, exitUsage)
	}
}

// TestCompareKeepsGoingPastAFailedPhase uses a second mock as the "gateway": it serves
// /v1/chat/completions, so the passthrough phases work, and 404s the run API, as tracegate
// would for an endpoint that does not exist yet.
func TestCompareKeepsGoingPastAFailedPhase(t *testing.T) {
	gateway := startTestMock(t, mockOptions{chunks: 8})
	md := filepath.Join(t.TempDir(), "bench.md")
	var out, progress bytes.Buffer
	code := run(context.Background(), []string{"compare",
		"-gateway", strings.TrimSuffix(gateway.baseURL(), "/v1"),
		"-gateway-pid", "0", "-concurrency", "1,16", "-n", "40", "-warmup", "0s",
		"-json", "-markdown", md}, &out, &progress)
	if code != exitPhasesFailed {
		t.Fatalf("exit %d, want %d (finished with failed phases); progress:\n%s", code, exitPhasesFailed, progress.String())
	}
	var rep compareReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Phases) != 14 {
		t.Fatalf("%d phase results, want 7 phases x 2 concurrency levels", len(rep.Phases))
	}
	if rep.MockProcess != "own" || !strings.HasPrefix(rep.NullGateway, "http://127.0.0.1:") {
		t.Errorf("mock %q null gateway %q: both in processes of their own", rep.MockProcess, rep.NullGateway)
	}
	if rep.NullFloor == nil || rep.NullFloor.AddedP50US == nil || rep.NullFloor.AddedTTFBP50US == nil {
		t.Errorf("null gateway floor %+v", rep.NullFloor)
	}
	for _, p := range rep.Phases {
		switch p.Phase {
		case "run-api":
			if !strings.Contains(p.Error, "HTTP 404") || p.Summary != nil {
				t.Errorf("run-api c=%d: error %q", p.Concurrency, p.Error)
			}
		case "passthrough", "passthrough-stream":
			if p.Error != "" || p.Summary.OK != 40 || p.ThroughputRatio == nil || p.AddedP50US == nil ||
				p.AddedP50VsNullUS == nil || p.ThroughputRatioVsNull == nil {
				t.Errorf("%s c=%d: %+v", p.Phase, p.Concurrency, p)
			}
			stream := p.Phase == "passthrough-stream"
			if stream != (p.AddedTTFBP50US != nil) || stream != (p.AddedTTFBP50VsNullUS != nil) {
				t.Errorf("%s: added TTFB only for streams", p.Phase)
			}
		case "null", "null-stream":
			if p.Error != "" || p.Summary.OK != 40 || p.UpstreamRequests != 40 || p.AddedP50US == nil || p.AddedP50VsNullUS != nil {
				t.Errorf("%s c=%d: %+v", p.Phase, p.Concurrency, p)
			}
			if (p.Phase == "null-stream") != (p.AddedTTFBP50US != nil) || !strings.Contains(p.Target, strings.TrimPrefix(rep.NullGateway, "http://")) {
				t.Errorf("%s: %+v", p.Phase, p)
			}
		case "direct", "direct-stream":
			if p.Error != "" || p.Summary.OK != 40 || p.UpstreamRequests != 40 || p.ThroughputRatio != nil {
				t.Errorf("%s c=%d: %+v", p.Phase, p.Concurrency, p)
			}
		}
	}
	verdicts := map[string]string{}
	for _, c := range rep.Targets {
		verdicts[c.Target] = c.Verdict
	}
	if len(rep.Targets) < 5 || verdicts["run API CPU per request <= 1.3x passthrough's"] != "n/a" {
		t.Errorf("targets %+v", rep.Targets)
	}
	raw, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| run-api | 1 | FAILED | | | | | | | | | | | probe request failed: HTTP 404", "| passthrough | 16 | ", "| null-stream | 1 | ",
		"| added p50 vs null gateway | added TTFB vs null gateway |", "Null gateway adds ", "in its own process",
		"| passthrough, c=1: added median latency over the null gateway <= 10 µs | ",
		"| passthrough, c=16: throughput >= 80% of the null gateway's | "} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("markdown lacks %q:\n%s", want, raw)
		}
	}
	for _, line := range strings.Split(string(raw), "\n") {
		cells := strings.Count(line, "|") - strings.Count(line, `\|`) - 1
		if strings.HasPrefix(line, "| ") && cells != 3 && cells != 14 {
			t.Errorf("%d cells, want 14 in a phase row and 3 in a target row: %s", cells, line)
		}
	}
	if !strings.Contains(progress.String(), "run-api            c=1   FAILED: probe request failed: HTTP 404") {
		t.Errorf("progress must name the failure:\n%s", progress.String())
	}
}

func TestCheckTargetsVerdicts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	ok := &summary{TTFBUS: &percentiles{P50: 200}}
	rep := &compareReport{
		IdleRSSKB: 60 * 1024,
		PeakRSSKB: 70 * 1024,
		Phases: []phaseResult{
			{Phase: "passthrough", Concurrency: 1, Summary: &summary{LatencyUS: percentiles{P99: 290}}, AddedP50US: f(30), CPUPerRequestUS: f(100)},
			{Phase: "passthrough", Concurrency: 16, Summary: ok, ThroughputRatio: f(0.2), CPUPerRequestUS: f(50)},
			{Phase: "run-api", Concurrency: 1, Summary: ok, CPUPerRequestUS: f(500)},
			{Phase: "run-api", Concurrency: 16, Summary: ok, CPUPerRequestUS: f(60)},
			{Phase: "passthrough-stream", Concurrency: 1, Error: "probe request failed"},
			{Phase: "null", Concurrency: 1, Summary: &summary{LatencyUS: percentiles{P99: 200}}},
			{Phase: "null", Concurrency: 16, Summary: ok},
		},
	}
	rep.Phases[0].AddedP50VsNullUS = f(9.5)
	rep.Phases[1].ThroughputRatioVsNull = f(0.85)
	rep.Phases[3].ThroughputRatioVsNull = f(0.7)
	got := map[string]string{}
	for _, c := range checkTargets(rep, time.Millisecond) {
		got[c.Target] = c.Verdict + " " + c.Measured
	}
	want := map[string]string{
		"passthrough, c=1: added median latency < 50 µs":                          "pass +30.0 µs",
		"passthrough, c=1: added median latency over the null gateway <= 10 µs":   "pass +9.5 µs",
		"passthrough, c=1: p99 within 1.5x of the null gateway's":                 "pass 1.45x (290µs vs 200µs)",
		"passthrough, c=16: throughput >= 35% of direct":                          "fail 20%",
		"passthrough, c=16: throughput >= 80% of the null gateway's":              "pass 85%",
		"run API, c=16: throughput >= 75% of the null gateway's":                  "fail 70%",
		"run API CPU per request <= 1.3x passthrough's":                           "pass 1.20x at c=16 (60.0 vs 50.0 µs)",
		"streaming, c=1: added time to first byte < 100 µs":                       "n/a needs passthrough-stream and direct-stream at c=1",
		"streaming, c=1: added time to first byte over the null gateway <= 30 µs": "n/a needs passthrough-stream and null-stream at c=1",
		"streaming: each chunk flushed as it arrives":                             "n/a needs passthrough-stream at c=1 and -mock-chunk-delay > 0",
		"idle RSS < 50 MiB":      "fail 60.0 MiB",
		"RSS bounded under load": "info peak 70.0 MiB (VmHWM)",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d targets: %v", len(got), got)
	}
}

func TestRatiosAgainstDirectAndTheNullGateway(t *testing.T) {
	sum := func(p50, rps float64, ttfb *percentiles) *summary {
		return &summary{LatencyUS: percentiles{P50: p50}, RPS: rps, TTFBUS: ttfb}
	}
	kind := func(name string) phaseKind {
		for _, k := range allPhases {
			if k.name == name {
				return k
			}
		}
		t.Fatalf("no phase %s", name)
		return phaseKind{}
	}
	phase := func(name string, conc int, s *summary) phaseResult {
		return phaseResult{Phase: name, Concurrency: conc, Summary: s, kind: kind(name)}
	}
	results := []phaseResult{
		phase("direct", 1, sum(20, 1000, nil)),
		phase("null", 1, sum(110, 500, nil)),
		phase("passthrough", 1, sum(150, 400, nil)),
		phase("run-api", 1, sum(160, 380, nil)),
		phase("direct-stream", 1, sum(40, 800, &percentiles{P50: 30})),
		phase("null-stream", 1, sum(150, 400, &percentiles{P50: 130})),
		phase("passthrough-stream", 1, sum(200, 300, &percentiles{P50: 170})),
		phase("passthrough", 16, sum(900, 4000, nil)), // no null at c=16
	}
	addRatios(results)
	check := func(name string, conc int, get func(*phaseResult) *float64, want float64) {
		t.Helper()
		r := findPhase(results, name, conc)
		if v := get(r); v == nil || *v != want {
			t.Errorf("%s c=%d: got %v, want %v", name, conc, v, want)
		}
	}
	check("null", 1, func(r *phaseResult) *float64 { return r.AddedP50US }, 90)
	check("passthrough", 1, func(r *phaseResult) *float64 { return r.AddedP50US }, 130)
	check("passthrough", 1, func(r *phaseResult) *float64 { return r.AddedP50VsNullUS }, 40)
	check("passthrough", 1, func(r *phaseResult) *float64 { return r.ThroughputRatioVsNull }, 0.8)
	check("run-api", 1, func(r *phaseResult) *float64 { return r.AddedP50VsNullUS }, 50)
	check("null-stream", 1, func(r *phaseResult) *float64 { return r.AddedTTFBP50US }, 100)
	check("passthrough-stream", 1, func(r *phaseResult) *float64 { return r.AddedTTFBP50VsNullUS }, 40)
	if r := findPhase(results, "passthrough", 16); r.AddedP50VsNullUS != nil || r.AddedP50US != nil {
		t.Errorf("c=16 has neither direct nor null: %+v", r)
	}
	if r := findPhase(results, "null", 1); r.AddedP50VsNullUS != nil {
		t.Error("the null gateway is not compared with itself")
	}

	floor := floorOf(results)
	if floor == nil || *floor.AddedP50US != 90 || *floor.AddedTTFBP50US != 100 {
		t.Fatalf("floor %+v", floor)
	}
	if line := floorLine(floor); !strings.Contains(line, "Null gateway adds 90 µs p50 / 100 µs TTFB over direct on this machine") ||
		!strings.Contains(line, "paid by any gateway") {
		t.Errorf("floor line %q", line)
	}
	if floorOf(results[:1]) != nil || floorLine(nil) != "" {
		t.Error("no null phase, no floor")
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &compareReport{NullFloor: floor, Phases: results[2:3]}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"null_gateway_floor": {`, `"added_p50_us": 90`, `"added_ttfb_p50_us": 100`,
		`"added_p50_vs_null_us": 40`, `"throughput_ratio_vs_null": 0.8`, `"mock_process"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s:\n%s", key, buf.String())
		}
	}
}

func TestCompareWithTheMockInProcess(t *testing.T) {
	var out bytes.Buffer
	code := run(context.Background(), []string{"compare", "-mock-inprocess", "-phases", "direct,null", "-concurrency", "2",
		"-n", "20", "-warmup", "0s", "-json"}, &out, io.Discard)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var rep compareReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.MockProcess != "in-process" || len(rep.Phases) != 2 || rep.Phases[1].UpstreamRequests != 20 || rep.Phases[1].AddedP50US == nil {
		t.Errorf("%+v", rep)
	}
}
