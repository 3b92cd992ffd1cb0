package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-check-config", "-config", filepath.Join("..", "..", "config.yaml")}, &stdout, &stderr); code != 0 {
		t.Fatalf("shipped config: exit %d: %s", code, stderr.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("server: {listen: nowhere, max_body_bytes: -1}\nsurplus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"-check-config", "-config", bad}, &stdout, &stderr); code != 2 {
		t.Fatalf("bad config: exit %d", code)
	}
	if code := run([]string{"-no-such-flag"}, &stdout, &stderr); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
}

var listeningAddr = regexp.MustCompile(`"msg":"tracegate listening","addr":"([^"]+)"`)

// startMain runs main's run() on a config file and waits until it listens. Only then are
// its signal handlers installed, so the signals the test sends cannot kill the test binary.
func startMain(t *testing.T, yaml string, up *fakeOpenAI) (addr string, exit <-chan int, logs *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range testPrompts {
		if err := os.WriteFile(filepath.Join(dir, "prompts", name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config.yaml")
	writeConfig(t, path, yaml, up.srv.URL)
	logs = &syncBuffer{}
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", path}, &bytes.Buffer{}, logs) }()
	waitFor(t, "tracegate to listen", func() bool { return listeningAddr.MatchString(logs.String()) })
	return listeningAddr.FindStringSubmatch(logs.String())[1], code, logs
}

func TestMainExitsZeroAfterSIGTERM(t *testing.T) {
	up := newFakeOpenAI(t, false)
	addr, exit, logs := startMain(t, baseConfig, up)
	g := &testGateway{t: t, base: "http://" + addr}
	if status, _, body := g.request(http.MethodGet, "/healthz", "", nil); status != 200 {
		t.Fatalf("healthz: %d %s", status, body)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, exit); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no stopped line:\n%s", logs.String())
	}
}

func TestMainExitsOneOnASecondSignal(t *testing.T) {
	up := newFakeOpenAI(t, true)
	addr, exit, logs := startMain(t, baseConfig, up)
	g := &testGateway{t: t, base: "http://" + addr}
	go g.tryRequest(http.MethodPost, "/api/v1/prompts/greet/run", `{"variables":{"name":"Ada"}}`, nil)
	up.waitArrived(t)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the drain to start", func() bool { return strings.Contains(logs.String(), `"msg":"shutting down"`) })
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, exit); code != 1 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
	up.open()
}

func waitExit(t *testing.T, exit <-chan int) int {
	t.Helper()
	var code int
	waitFor(t, "run to return", func() bool {
		select {
		case code = <-exit:
			return true
		default:
			return false
		}
	})
	return code
}
