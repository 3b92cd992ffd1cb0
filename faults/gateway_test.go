package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracegate/tracegate/internal/cloudfake"
)

// binary is the tracegate built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tracegate-faults")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tracegate")
	args := append(append([]string{"build"}, buildFlags...), "-o", binary, "github.com/tracegate/tracegate/cmd/tracegate")
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tracegate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is a tracegate process in front of an Upstream.
type gateway struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	up   *Upstream
	srv  *httptest.Server
	// lastGoroutines is the last count idleGoroutines saw.
	lastGoroutines float64
	// spans holds the process's stdout (the stdout span exporter, one JSON span a line) and
	// logs its stderr (JSON log lines).
	spans, logs *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []map[string]any {
	l.mu.Lock()
	data := append([]byte(nil), l.b.Bytes()...)
	l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

const gatewayConfig = `
server: {listen: "127.0.0.1:0", max_body_bytes: 1048576, max_concurrent: 0}
registry:
  sources: [{type: file, path: %q}]
providers:
  - {name: oai, type: openai, base_url: "%s/v1", api_key: sk-fault-0123456789, timeout: 1s, stream_idle_timeout: 1s, max_response_bytes: 1048576}
  - {name: ant, type: anthropic, base_url: "%s", api_key: sk-ant-fault-0123456789, timeout: 1s, stream_idle_timeout: 1s, max_response_bytes: 1048576}
  - {name: gem, type: gemini, base_url: "%s", api_key: gm-fault-0123456789, timeout: 1s, stream_idle_timeout: 1s, max_response_bytes: 1048576}
  # vtx: Vertex AI (Claude models on rawPredict, net/http's exchange), OAuth tokens for the
  # service account in GOOGLE_APPLICATION_CREDENTIALS, minted by a fake token endpoint
  - {name: vtx, type: vertex, base_url: "%s", project: proj-fault, location: us-east5, credentials_file: "${GOOGLE_APPLICATION_CREDENTIALS}", timeout: 1s, stream_idle_timeout: 1s, max_response_bytes: 1048576}
  # bdr: AWS Bedrock (Converse, ConverseStream, CountTokens; net/http's exchange), SigV4 with
  # the static test keys of a shared credentials file, which the Upstream signs again to check
  - {name: bdr, type: bedrock, base_url: "%s", region: %s, credentials_file: %q, timeout: 1s, stream_idle_timeout: 1s, max_response_bytes: 1048576}
  # azr: Azure OpenAI on a dated api_version: the deployment (here the model itself) in the
  # path, and no Responses API, so wire_api defaults to chat
  - {name: azr, type: azure, base_url: "%s", api_key: az-fault-0123456789, auth: api_key, api_version: "2024-10-21", timeout: 1s, stream_idle_timeout: 1s, max_response_bytes: 1048576}
  # patient: for the memory tests, whose 1,000 streams must not meet a timeout on a busy machine
  - {name: patient, type: openai, base_url: "%s/v1", api_key: sk-fault-0123456789, timeout: 2m, stream_idle_timeout: 2m, max_response_bytes: 1048576}
routes: []
retry: {max_attempts: 3, initial_backoff: 10ms, max_backoff: 20ms, max_elapsed: 3s}
spans: {exporter: %s, service_name: tracegate-faults}
log: {level: info, format: json}
`

// vertexToken is the access token the fake Google token endpoint issues to tracegate for the
// service account, and the one the Upstream's Vertex calls must carry.
const vertexToken = "ya29.fault-vertex-token-0123456789"

// bedrockRegion is the bdr provider's region, part of the SigV4 scope the Upstream checks.
const bedrockRegion = "us-east-1"

// azureKey and azureVersion are gatewayConfig's for azr, which the Upstream's Azure calls
// must carry.
const azureKey, azureVersion = "az-fault-0123456789", "2024-10-21"

const faultPrompt = `slug: fault
name: Fault
versions:
  - version: 1
    model: oai/ok
    messages:
      - {role: user, content: "{{text}}"}
`

var listenLine = regexp.MustCompile(`"addr":"([^"]+)"`)

// startGateway starts tracegate with spans on stdout (spans "stdout") or none.
func startGateway(t *testing.T, spans string) *gateway {
	t.Helper()
	up := NewUpstream()
	up.BearerToken = vertexToken
	up.SigV4 = cloudfake.CheckSigV4(bedrockRegion, cloudfake.AccessKey, cloudfake.SecretKey, cloudfake.SessionToken)
	up.AzureAPIKey, up.AzureAPIVersion = azureKey, azureVersion
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	prompts := filepath.Join(dir, "prompts")
	if err := os.Mkdir(prompts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prompts, "fault.yaml"), []byte(faultPrompt), 0o644); err != nil {
		t.Fatal(err)
	}
	awsCredentials := filepath.Join(dir, "aws-credentials")
	keys := "[default]\naws_access_key_id = " + cloudfake.AccessKey + "\naws_secret_access_key = " + cloudfake.SecretKey +
		"\naws_session_token = " + cloudfake.SessionToken + "\n"
	if err := os.WriteFile(awsCredentials, []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(gatewayConfig, prompts, srv.URL, srv.URL, srv.URL, srv.URL, srv.URL, bedrockRegion, awsCredentials, srv.URL, srv.URL, spans)), 0o644); err != nil {
		t.Fatal(err)
	}
	g := &gateway{t: t, up: up, srv: srv, spans: &lockedBuffer{}, logs: &lockedBuffer{}}
	g.cmd = exec.Command(binary, "-config", cfg)
	serviceAccount, _ := cloudfake.ServiceAccount(t, "proj-fault", "https://www.googleapis.com/auth/cloud-platform", vertexToken)
	g.cmd.Env = append(withoutAWS(os.Environ()), "GOOGLE_APPLICATION_CREDENTIALS="+serviceAccount,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "aws-config"), "AWS_EC2_METADATA_DISABLED=true")
	g.cmd.Stdout = g.spans
	g.cmd.Stderr = g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = g.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = g.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = g.cmd.Process.Kill()
			<-done
		}
		if bytes.Contains(g.logs.b.Bytes(), []byte("WARNING: DATA RACE")) {
			t.Error("the race detector found a race in tracegate")
		}
		if t.Failed() {
			t.Logf("tracegate log:\n%s", g.logs.b.String())
		}
	})
	waitFor(t, "tracegate to listen", func() bool {
		g.logs.mu.Lock()
		m := listenLine.FindSubmatch(g.logs.b.Bytes())
		g.logs.mu.Unlock()
		if m != nil {
			g.base = "http://" + string(m[1])
		}
		return m != nil
	})
	return g
}

// withoutAWS drops the AWS variables from env, so that bdr signs with the credentials file's
// keys (the environment's would come first in the AWS credential chain) and no developer's
// profile, role or region is read.
func withoutAWS(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// waitFor polls cond until it holds; the bound only keeps a broken build from hanging CI (it
// outlasts fasthttp's idle workers, which linger 10 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2048, DisableCompression: true}}

// post sends body to path and returns the status and the whole reply body.
func (g *gateway) post(ctx context.Context, path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// idleGoroutines closes the keep-alive connections on both sides of tracegate, which hold a
// goroutine each by design, and reports whether its goroutines are back to idle.
func (g *gateway) idleGoroutines(idle float64) bool {
	client.CloseIdleConnections()
	g.srv.CloseClientConnections()
	n := g.metric("go_goroutines")
	g.lastGoroutines = n
	return n <= idle+10
}

// metric reads one unlabelled sample from /metrics.
func (g *gateway) metric(name string) float64 {
	g.t.Helper()
	resp, err := client.Get(g.base + "/metrics")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	g.t.Fatalf("metric %s not found", name)
	return 0
}

// rssBytes is the process's resident set, from /proc.
func (g *gateway) rssBytes() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		g.t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// spanAttrs returns the attributes of the spans exported so far, one map per span.
func (g *gateway) spanAttrs() []map[string]string {
	var out []map[string]string
	for _, s := range g.spans.lines() {
		attrs, _ := s["Attributes"].([]any)
		m := map[string]string{"_name": fmt.Sprint(s["Name"])}
		for _, a := range attrs {
			kv, _ := a.(map[string]any)
			v, _ := kv["Value"].(map[string]any)
			m[fmt.Sprint(kv["Key"])] = fmt.Sprint(v["Value"])
		}
		out = append(out, m)
	}
	return out
}
