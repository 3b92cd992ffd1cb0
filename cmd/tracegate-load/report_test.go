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
	if len(rep.Phases) != 10 {
		t.Fatalf("%d phase results, want 5 phases x 2 concurrency levels", len(rep.Phases))
	}
	for _, p := range rep.Phases {
		switch p.Phase {
		case "run-api":
			if !strings.Contains(p.Error, "HTTP 404") || p.Summary != nil {
				t.Errorf("run-api c=%d: error %q", p.Concurrency, p.Error)
			}
		case "passthrough", "passthrough-stream":
			if p.Error != "" || p.Summary.OK != 40 || p.ThroughputRatio == nil || p.AddedP50US == nil {
				t.Errorf("%s c=%d: %+v", p.Phase, p.Concurrency, p)
			}
			if (p.Phase == "passthrough-stream") != (p.AddedTTFBP50US != nil) {
				t.Errorf("%s: added TTFB only for streams", p.Phase)
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
	if !strings.Contains(string(raw), "| run-api | 1 | FAILED |") || !strings.Contains(string(raw), "| passthrough | 16 | ") {
		t.Errorf("markdown:\n%s", raw)
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
			{Phase: "passthrough", Concurrency: 1, Summary: ok, AddedP50US: f(30), CPUPerRequestUS: f(100)},
			{Phase: "passthrough", Concurrency: 16, Summary: ok, ThroughputRatio: f(0.2), CPUPerRequestUS: f(50)},
			{Phase: "run-api", Concurrency: 1, Summary: ok, CPUPerRequestUS: f(500)},
			{Phase: "run-api", Concurrency: 16, Summary: ok, CPUPerRequestUS: f(60)},
			{Phase: "passthrough-stream", Concurrency: 1, Error: "probe request failed"},
		},
	}
	got := map[string]string{}
	for _, c := range checkTargets(rep, time.Millisecond) {
		got[c.Target] = c.Verdict + " " + c.Measured
	}
	want := map[string]string{
		"passthrough, c=1: added median latency < 50 µs":    "pass +30.0 µs",
		"passthrough, c=16: throughput >= 35% of direct":    "fail 20%",
		"run API CPU per request <= 1.3x passthrough's":     "pass 1.20x at c=16 (60.0 vs 50.0 µs)",
		"streaming, c=1: added time to first byte < 100 µs": "n/a needs passthrough-stream and direct-stream at c=1",
		"streaming: each chunk flushed as it arrives":       "n/a needs passthrough-stream at c=1 and -mock-chunk-delay > 0",
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
