package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// withServer replaces the server: block of baseConfig.
func withServer(server string) string {
	return strings.Replace(baseConfig, `server: {listen: "127.0.0.1:0", shutdown_grace: 10s}`, server, 1)
}

func TestReloadAppliesAGoodConfigAndRejectsABadOne(t *testing.T) {
	up := newFakeOpenAI(t, true)
	g := startGateway(t, withServer(`server: {listen: "127.0.0.1:0", auth_keys: [old-key]}`), up)
	oldKey := map[string]string{"Authorization": "Bearer old-key"}
	newKey := map[string]string{"Authorization": "Bearer new-key"}

	status, out := g.run("demo", `{"variables":{"name":"Ada"}}`, oldKey)
	if status != 200 {
		t.Fatalf("before reload: %d %v", status, out)
	}
	oldCost := out["cost"].(float64)

	// A run in flight across the reload finishes on the configuration it started with.
	held := make(chan int, 1)
	go func() {
		status, _, _, _ := g.tryRequest(http.MethodPost, "/api/v1/prompts/greet/run", `{"variables":{"name":"Ada"}}`, oldKey)
		held <- status
	}()
	up.waitArrived(t)

	// New key, new price, and a restart-only change.
	good := withServer(`server: {listen: "127.0.0.1:0", auth_keys: [new-key], max_concurrent: 10}`)
	good = strings.Replace(good, "input_per_token: 0.000001, output_per_token: 0.000002", "input_per_token: 0.00001, output_per_token: 0.00002", 1)
	writeConfig(t, g.configPath, good, up.srv.URL)
	if err := g.app.reload(); err != nil {
		t.Fatalf("good config rejected: %v", err)
	}
	if status, out := g.run("demo", `{"variables":{"name":"Ada"}}`, oldKey); status != 401 || errorCodeOf(out) != "UNAUTHORIZED" {
		t.Errorf("old key after reload: %d %v", status, out)
	}
	status, out = g.run("demo", `{"variables":{"name":"Ada"}}`, newKey)
	if status != 200 {
		t.Fatalf("new key after reload: %d %v", status, out)
	}
	if newCost := out["cost"].(float64); newCost < 9*oldCost {
		t.Errorf("price override not reloaded: cost %v, was %v", newCost, oldCost)
	}
	up.open()
	if status := <-held; status != 200 {
		t.Errorf("run in flight across the reload: %d", status)
	}
	logs := g.logs.String()
	if !strings.Contains(logs, `"msg":"configuration reloaded"`) || !strings.Contains(logs, `"keys":["server.max_concurrent"]`) {
		t.Errorf("reload not logged with its restart-only keys:\n%s", logs)
	}

	// Several problems at once: all are logged, none is applied.
	bad := strings.Replace(good, "retry: {max_attempts: 1}", "retry: {max_attempts: 1}\nsurprise: true", 1)
	bad = strings.Replace(bad, "{match: \"gpt-*\", provider: openai}", "{match: \"gpt-*\", provider: nowhere}", 1)
	writeConfig(t, g.configPath, bad, up.srv.URL)
	if err := g.app.reload(); err == nil {
		t.Fatal("bad config (unknown key) accepted")
	}
	bad = strings.Replace(good, "{match: \"gpt-*\", provider: openai}", "{match: \"gpt-*\", provider: nowhere}", 1)
	bad = strings.Replace(bad, "retry: {max_attempts: 1}", "retry: {max_attempts: -1}", 1)
	writeConfig(t, g.configPath, bad, up.srv.URL)
	if err := g.app.reload(); err == nil {
		t.Fatal("bad config (invalid values) accepted")
	}
	if status, out := g.run("demo", `{"variables":{"name":"Ada"}}`, newKey); status != 200 {
		t.Fatalf("after rejected reloads the previous config stopped serving: %d %v", status, out)
	}
	var rejected []map[string]any
	for _, line := range g.logs.jsonLines(t) {
		if line["msg"] == "configuration reload rejected; the running configuration keeps serving" {
			rejected = append(rejected, line)
		}
	}
	if len(rejected) != 2 {
		t.Fatalf("%d rejection lines", len(rejected))
	}
	last, _ := rejected[1]["problems"].([]any)
	joined := ""
	for _, p := range last {
		joined += p.(string) + "\n"
	}
	if len(last) < 2 || !strings.Contains(joined, "nowhere") || !strings.Contains(joined, "max_attempts") {
		t.Errorf("not every problem logged: %v", last)
	}
	f := g.scrape(newKey)
	if v, _ := sample(f, "tracegate_config_reloads_total", map[string]string{"result": "ok"}); v != 1 {
		t.Errorf("ok reloads %v", v)
	}
	if v, _ := sample(f, "tracegate_config_reloads_total", map[string]string{"result": "rejected"}); v != 2 {
		t.Errorf("rejected reloads %v", v)
	}
}

// refused reports whether a new connection to addr is refused.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func TestShutdownDrainsAnInFlightRun(t *testing.T) {
	up := newFakeOpenAI(t, true)
	g := startGateway(t, baseConfig, up)

	type reply struct {
		status int
		header http.Header
		body   string
		err    error
	}
	done := make(chan reply, 1)
	go func() {
		status, hdr, body, err := g.tryRequest(http.MethodPost, "/api/v1/prompts/greet/run", `{"variables":{"name":"Ada"}}`, nil)
		done <- reply{status, hdr, string(body), err}
	}()
	up.waitArrived(t)

	stopped := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.stop(ctx)
		close(stopped)
	}()
	waitFor(t, "the listener to close", func() bool { return refused(g.app.addr()) })
	if nr := g.app.srv.Readiness(context.Background()); nr["shutdown"] == "" {
		t.Errorf("ready while draining: %v", nr)
	}
	select {
	case <-stopped:
		t.Fatal("shutdown finished with a run in flight")
	default:
	}

	up.open()
	r := <-done
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, "Hello from the fake upstream.") {
		t.Fatalf("in-flight run: %d %v %s", r.status, r.err, r.body)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish after the last run")
	}
	if !strings.Contains(g.logs.String(), `"msg":"stopped"`) {
		t.Error("no stopped line")
	}
}

func TestShutdownDrainsAnInFlightStream(t *testing.T) {
	up := newFakeOpenAI(t, true)
	g := startGateway(t, baseConfig, up)

	resp, err := http.Post(g.base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	first, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(first, `"Hel"`) {
		t.Fatalf("first chunk %q: %v", first, err)
	}
	up.waitArrived(t)

	stopped := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.stop(ctx)
		close(stopped)
	}()
	waitFor(t, "the listener to close", func() bool { return refused(g.app.addr()) })

	up.open()
	rest, err := io.ReadAll(rd)
	if err != nil || !strings.Contains(string(rest), `"lo"`) || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Fatalf("rest of the stream %q: %v", rest, err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish after the stream")
	}
}

func TestSignals(t *testing.T) {
	up := newFakeOpenAI(t, true)
	g := startGateway(t, withServer(`server: {listen: "127.0.0.1:0", auth_keys: [old-key]}`), up)
	sigs := make(chan os.Signal, 4)
	result := make(chan error, 1)
	go func() { result <- g.app.waitForSignals(sigs) }()

	// SIGHUP reloads.
	writeConfig(t, g.configPath, withServer(`server: {listen: "127.0.0.1:0", auth_keys: [new-key]}`), up.srv.URL)
	sigs <- syscall.SIGHUP
	waitFor(t, "the SIGHUP reload", func() bool {
		status, _ := g.run("demo", `{"variables":{"name":"Ada"}}`, map[string]string{"Authorization": "Bearer new-key"})
		return status == 200
	})

	// SIGTERM drains; a second signal gives up on the run still in flight.
	go g.tryRequest(http.MethodPost, "/api/v1/prompts/greet/run", `{"variables":{"name":"Ada"}}`, map[string]string{"Authorization": "Bearer new-key"})
	up.waitArrived(t)
	sigs <- syscall.SIGTERM
	waitFor(t, "draining", func() bool { return g.app.srv.Readiness(context.Background())["shutdown"] != "" })
	sigs <- syscall.SIGHUP // ignored while draining
	sigs <- syscall.SIGINT
	select {
	case err := <-result:
		if err != errForcedExit {
			t.Fatalf("second signal: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second signal did not cut the drain short")
	}
	up.open()
}

func TestSignalDrainReturnsNil(t *testing.T) {
	up := newFakeOpenAI(t, false)
	g := startGateway(t, baseConfig, up)
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM
	if err := g.app.waitForSignals(sigs); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if !refused(g.app.addr()) {
		t.Error("still accepting after the drain")
	}
}
