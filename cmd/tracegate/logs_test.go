package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestRunLogLineHasTheFieldsAndNoSecrets(t *testing.T) {
	const (
		providerKey = "sk-live-DO-NOT-LOG-0123456789abcdef"
		callerKey   = "caller-key-DO-NOT-LOG-42"
		variable    = "Marguerite-Unusual-Name"
		chatText    = "aardvark-teal-sentinel"
	)
	up := newFakeOpenAI(t, false)
	cfg := strings.Replace(withServer(`server: {listen: "127.0.0.1:0", auth_keys: [`+callerKey+`]}`), "sk-test-fake-upstream-key", providerKey, 1)
	g := startGateway(t, cfg, up)
	auth := map[string]string{"Authorization": "Bearer " + callerKey}

	status, out := g.run("greet", `{"variables":{"name":"`+variable+`"},"userId":"u-1","tags":["t1"]}`, auth)
	if status != 200 {
		t.Fatalf("greet: %d %v", status, out)
	}
	status, _, body := g.request(http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`+chatText+`"}]}`, auth)
	if status != 200 {
		t.Fatalf("chat: %d %s", status, body)
	}
	// A failing run logs too, at warn.
	if status, _ := g.run("greet", `{"variables":{}}`, auth); status != 400 {
		t.Fatalf("missing variable: %d", status)
	}
	// The key did reach the provider, so its absence from the log means something.
	if got := up.authHeaders(); len(got) != 2 || got[0] != "Bearer "+providerKey {
		t.Fatalf("upstream saw %q", got)
	}

	var runLine map[string]any
	for _, line := range g.logs.jsonLines(t) {
		if line["msg"] == "run" && line["slug"] == "greet" {
			runLine = line
		}
	}
	if runLine == nil {
		t.Fatalf("no run line in\n%s", g.logs.String())
	}
	want := map[string]any{"level": "INFO", "slug": "greet", "version": 1.0, "model": "gpt-4o-mini", "provider": "openai",
		"status": 200.0, "input_tokens": 12.0, "output_tokens": 6.0, "priced": true,
		"trace_id": out["traceId"], "span_id": out["spanId"]}
	for k, v := range want {
		if runLine[k] != v {
			t.Errorf("run line %s = %v, want %v", k, runLine[k], v)
		}
	}
	if c, ok := runLine["cost_usd"].(float64); !ok || c != out["cost"].(float64) || c <= 0 {
		t.Errorf("run line cost_usd %v, reply cost %v", runLine["cost_usd"], out["cost"])
	}
	if _, ok := runLine["latency_ms"].(float64); !ok {
		t.Errorf("run line has no latency_ms: %v", runLine)
	}
	if _, ok := runLine["time"].(string); !ok {
		t.Errorf("run line has no time: %v", runLine)
	}

	logs := g.logs.String()
	for _, secret := range []string{providerKey, callerKey, "zebra-quartz-marker", variable, chatText, "Hello from the fake upstream."} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, `"level":"WARN"`) {
		t.Errorf("the failed run was not logged at warn:\n%s", logs)
	}
}
