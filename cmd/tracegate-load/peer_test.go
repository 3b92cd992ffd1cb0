package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func TestPeerFlags(t *testing.T) {
	o, err := parseCompareFlags([]string{"-phases", "direct,null,direct-stream,null-stream", "-mock-upstream", "127.0.0.1:18999",
		"-peer", "litellm=http://127.0.0.1:4000", "-peer", "bifrost=http://localhost:8080/v1/",
		"-peer", "own=http://127.0.0.1:9000/openai/v1/chat/completions"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range o.phases {
		names = append(names, p.name)
	}
	want := "direct,null,litellm,bifrost,own,direct-stream,null-stream,litellm-stream,bifrost-stream,own-stream"
	if strings.Join(names, ",") != want {
		t.Errorf("phases %s\nwant   %s", strings.Join(names, ","), want)
	}
	urls := map[string]string{}
	for _, p := range o.phases {
		if p.peerURL != "" {
			urls[p.name] = p.peerURL
			if p.viaGateway || p.viaNull || p.baseline == "" || p.nullBaseline == "" || p.stream != strings.HasSuffix(p.name, "-stream") {
				t.Errorf("%s: %+v", p.name, p)
			}
		}
	}
	for name, u := range map[string]string{
		"litellm": "http://127.0.0.1:4000/v1/chat/completions",
		"bifrost": "http://localhost:8080/v1/chat/completions",
		"own":     "http://127.0.0.1:9000/openai/v1/chat/completions",
	} {
		if urls[name] != u || urls[name+"-stream"] != u {
			t.Errorf("%s: %q, want %q", name, urls[name], u)
		}
	}

	o, err = parseCompareFlags([]string{"-phases", "direct", "-mock-upstream", "127.0.0.1:18999", "-peer", "x=http://127.0.0.1:1"}, io.Discard)
	if err != nil || len(o.phases) != 2 || o.phases[1].name != "x" {
		t.Errorf("no streaming phase, no streaming peer row: %+v %v", o, err)
	}

	o, err = parseCompareFlags([]string{"-phases", "direct,direct-stream", "-mock-upstream", "127.0.0.1:18999",
		"-peer-header", "portkey=x-portkey-provider: openai", "-peer", "portkey=http://127.0.0.1:8787",
		"-peer-header", "portkey=X-Portkey-Custom-Host:http://127.0.0.1:18999/v1 ", "-peer", "other=http://127.0.0.1:1",
		"-peer-header", "other=Authorization: Bearer sk-peer"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders := map[string][]headerField{
		"portkey": {{"x-portkey-provider", "openai"}, {"X-Portkey-Custom-Host", "http://127.0.0.1:18999/v1"}},
		"other":   {{"Authorization", "Bearer sk-peer"}},
	}
	for _, p := range o.phases {
		want := wantHeaders[strings.TrimSuffix(p.name, "-stream")]
		if !slices.Equal(p.peerHeaders, want) {
			t.Errorf("%s: headers %v, want %v", p.name, p.peerHeaders, want)
		}
	}

	for _, bad := range [][]string{
		{"-peer", "x=http://127.0.0.1:4000"}, // mock on a random port: the peer cannot be routed to it
		{"-peer", "x=http://192.0.2.1:4000"}, // not loopback
		{"-peer", "x"},
		{"-peer", "=http://127.0.0.1:1"},
		{"-peer", "Big=http://127.0.0.1:1"},
		{"-peer", "null=http://127.0.0.1:1"},
		{"-peer", "passthrough=http://127.0.0.1:1"},
		{"-peer", "a=http://127.0.0.1:1", "-peer", "a=http://127.0.0.1:2"},
		{"-peer", "a=http://127.0.0.1:1", "-peer", "a-stream=http://127.0.0.1:2"},
		{"-peer", "a=http://127.0.0.1:1/?x=1"},
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "b=x-a: 1"},  // no such peer
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "a=x-a"},     // no colon
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "a"},         // no name
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "a=x a: 1"},  // not a token
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "a=: 1"},     // empty header name
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "a=Host: x"}, // the tool's own
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "a=content-length: 9"},
		{"-peer", "a=http://127.0.0.1:1", "-peer-header", "a=x-a: 1\r\nx-b: 2"}, // would split the request
	} {
		args := append([]string{"-phases", "direct", "-mock-upstream", "127.0.0.1:18999"}, bad...)
		if bad[1] == "x=http://127.0.0.1:4000" {
			args = append([]string{"-phases", "direct"}, bad...)
		}
		if _, err := parseCompareFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCompareMeasuresAPeer runs a real compare with the null gateway itself as a peer,
// configured (as a user would configure LiteLLM) to relay to the mock's fixed address.
func TestCompareMeasuresAPeer(t *testing.T) {
	mockAddr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	peer := startTestNullGateway(t, "http://"+mockAddr)
	md := filepath.Join(t.TempDir(), "bench.md")
	var out, progress bytes.Buffer
	code := run(context.Background(), []string{"compare", "-phases", "direct,null,direct-stream,null-stream",
		"-mock-upstream", mockAddr, "-peer", "relay=http://" + peer.addr(),
		"-concurrency", "1,4", "-n", "40", "-warmup", "0s", "-json", "-markdown", md}, &out, &progress)
	if code != exitOK {
		t.Fatalf("exit %d; progress:\n%s", code, progress.String())
	}
	var rep compareReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Phases) != 12 || len(rep.Peers) != 1 || rep.Peers[0].Name != "relay" {
		t.Fatalf("%d phases, peers %+v: want 6 phases x 2 concurrency levels and the peer", len(rep.Phases), rep.Peers)
	}
	seen := 0
	for _, p := range rep.Phases {
		if p.Phase != "relay" && p.Phase != "relay-stream" {
			continue
		}
		seen++
		// Every measured request went through the peer to the same mock.
		if p.Error != "" || p.Summary.OK != 40 || p.UpstreamRequests != 40 || p.AddedP50US == nil || p.AddedP50VsNullUS == nil ||
			p.ThroughputRatioVsNull == nil || p.CPUPerRequestUS != nil || !strings.Contains(p.Target, peer.addr()) {
			t.Errorf("%s c=%d: %+v", p.Phase, p.Concurrency, p)
		}
		if (p.Phase == "relay-stream") != (p.AddedTTFBP50VsNullUS != nil) {
			t.Errorf("%s: TTFB only for the stream", p.Phase)
		}
	}
	if seen != 4 {
		t.Errorf("%d peer results, want 4", seen)
	}
	// Reported by phase, measured by concurrency: every c=1 phase before any c=4 one.
	var order []string
	for _, p := range rep.Phases {
		order = append(order, fmt.Sprintf("%s/%d", p.Phase, p.Concurrency))
	}
	if got, want := strings.Join(order, " "), "direct/1 direct/4 null/1 null/4 relay/1 relay/4 direct-stream/1 direct-stream/4 "+
		"null-stream/1 null-stream/4 relay-stream/1 relay-stream/4"; got != want {
		t.Errorf("report order\n got %s\nwant %s", got, want)
	}
	prog := progress.String()
	if first4, last1 := strings.Index(prog, "c=4"), strings.LastIndex(prog, "c=1"); first4 < 0 || last1 > first4 {
		t.Errorf("every phase at c=1 must run before any at c=4:\n%s", prog)
	}
	raw, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| relay | 4 | ", "| relay-stream | 1 | ", "Peer gateway relay: http://" + peer.addr() + "/v1/chat/completions"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("markdown lacks %q:\n%s", want, raw)
		}
	}
	if !strings.Contains(progress.String(), "compare: peer relay at http://"+peer.addr()) {
		t.Errorf("progress:\n%s", progress.String())
	}
}

// TestComparePeerHeaders runs a compare through a peer that, like Portkey's gateway, is routed
// per request: it relays to the mock only when the -peer-header headers came with the request.
func TestComparePeerHeaders(t *testing.T) {
	mockAddr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	mockURL := &url.URL{Scheme: "http", Host: mockAddr}
	relay := httputil.NewSingleHostReverseProxy(mockURL)
	relay.FlushInterval = -1
	var refused atomic.Int64
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Route") != "mock" || r.Header.Get("Authorization") != "Bearer sk-peer" {
			refused.Add(1)
			http.Error(w, `{"error":"no route"}`, http.StatusBadRequest)
			return
		}
		// The body is read first: relayed as it is, net/http may close it once the reply's
		// headers go out while the transport is still reading it to EOF, and the transport then
		// drops the upstream connection mid-stream (about one stream in 300 here).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		relay.ServeHTTP(w, r)
	}))
	defer peer.Close()

	var out, progress bytes.Buffer
	code := run(context.Background(), []string{"compare", "-phases", "direct,direct-stream", "-mock-upstream", mockAddr,
		"-peer", "routed=" + peer.URL, "-peer-header", "routed=X-Route: mock", "-peer-header", "routed=Authorization: Bearer sk-peer",
		"-concurrency", "2", "-n", "30", "-warmup", "0s", "-json"}, &out, &progress)
	if code != exitOK {
		t.Fatalf("exit %d; progress:\n%s", code, progress.String())
	}
	var rep compareReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Peers) != 1 || !slices.Equal(rep.Peers[0].Headers, []string{"X-Route", "Authorization"}) {
		t.Errorf("peers %+v: want the header names, not their values", rep.Peers)
	}
	if strings.Contains(out.String(), "sk-peer") {
		t.Error("the report shows a header value")
	}
	seen := 0
	for _, p := range rep.Phases {
		if strings.HasPrefix(p.Phase, "routed") {
			seen++
			if p.Error != "" || p.Summary == nil || p.Summary.OK != 30 || p.UpstreamRequests != 30 {
				t.Errorf("%s: %+v", p.Phase, p)
				if p.Summary != nil {
					t.Errorf("%s summary: %+v", p.Phase, *p.Summary)
				}
			}
		}
	}
	if seen != 2 || refused.Load() != 0 {
		t.Errorf("%d peer rows, %d requests refused by the peer", seen, refused.Load())
	}

	// The same peer without its headers refuses every request: the phase fails on its probe.
	out.Reset()
	progress.Reset()
	code = run(context.Background(), []string{"compare", "-phases", "direct", "-mock-upstream", mockAddr,
		"-peer", "routed=" + peer.URL, "-concurrency", "1", "-n", "5", "-warmup", "0s", "-json"}, &out, &progress)
	if code == exitOK || refused.Load() == 0 || !strings.Contains(out.String(), "no route") {
		t.Errorf("without the headers: exit %d, %d refused\n%s", code, refused.Load(), out.String())
	}
}
