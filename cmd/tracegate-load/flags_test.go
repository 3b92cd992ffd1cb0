package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080/v1/chat/completions", "http://localhost/x", "http://[::1]:9/", "https://127.1.2.3/"} {
		if _, err := loopbackURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1/", "http://api.openai.com/v1", "ftp://127.0.0.1/", "127.0.0.1:8080", "http://0.0.0.0:80/"} {
		if _, err := loopbackURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if loopbackAddr("127.0.0.1:0") != nil || loopbackAddr("[::1]:0") != nil || loopbackAddr(":8080") == nil {
		t.Error("listen address check")
	}
}

func TestRunBoundsAlwaysBoundTimeAndCount(t *testing.T) {
	cases := []struct {
		d     time.Duration
		n     int
		wantD time.Duration
		wantN int
	}{
		{0, 0, defaultDuration, maxRequestsCap},
		{0, 100, maxDurationIfCount, 100},
		{3 * time.Second, 0, 3 * time.Second, maxRequestsCap},
		{time.Second, 7, time.Second, 7},
		{time.Second, maxRequestsCap + 1, time.Second, maxRequestsCap},
	}
	for _, c := range cases {
		d, n := runBounds(c.d, c.n)
		if d != c.wantD || n != c.wantN {
			t.Errorf("runBounds(%v, %d) = %v, %d; want %v, %d", c.d, c.n, d, n, c.wantD, c.wantN)
		}
	}
}

func TestParseLoadFlags(t *testing.T) {
	o, err := parseLoadFlags([]string{"-c", "16", "-n", "500", "-stream"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.target != defaultTarget || o.concurrency != 16 || o.requests != 500 || o.duration != maxDurationIfCount || !o.stream {
		t.Errorf("%+v", o)
	}
	if o, err := parseLoadFlags([]string{"-mock-upstream", "127.0.0.1:0"}, io.Discard); err != nil || o.target != "" {
		t.Errorf("with the mock and no -target the target is left for the mock: %q %v", o.target, err)
	}
	for _, bad := range [][]string{
		{"-target", "http://example.com/v1/chat/completions"},
		{"-c", "0"},
		{"-rate", "-1"},
		{"-mock-chunks", "0"},
		{"-mock-upstream", "0.0.0.0:0"},
		{"extra"},
	} {
		if _, err := parseLoadFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseCompareFlags(t *testing.T) {
	o, err := parseCompareFlags([]string{"-gateway", "http://127.0.0.1:8080/", "-concurrency", "1, 4", "-phases", "direct,run-api"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.gateway != "http://127.0.0.1:8080" || len(o.concurrency) != 2 || o.concurrency[1] != 4 || len(o.phases) != 2 || !o.phases[1].runAPI {
		t.Errorf("%+v", o)
	}
	if o.rounds != 1 {
		t.Errorf("rounds %d by default, want 1", o.rounds)
	}
	if o, err := parseCompareFlags([]string{"-phases", "direct", "-rounds", "3"}, io.Discard); err != nil || o.rounds != 3 {
		t.Errorf("-rounds 3: %+v %v", o, err)
	}
	if o, err := parseCompareFlags([]string{"-phases", "direct,null,null-stream", "-mock-inprocess"}, io.Discard); err != nil || !o.mockInProcess {
		t.Errorf("direct and null gateway phases need no gateway: %v", err)
	}
	if o, err := parseCompareFlags([]string{"-gateway", "http://127.0.0.1:8080"}, io.Discard); err != nil || len(o.phases) != len(allPhases) ||
		o.phases[1].name != "null" || o.mockInProcess {
		t.Errorf("default phases: every one, the null gateway's included, mock in its own process: %+v %v", o, err)
	}
	for _, bad := range [][]string{
		{}, // gateway phases without a gateway
		{"-gateway", "http://192.0.2.1:8080"},
		{"-gateway", "http://127.0.0.1:1", "-tracegate-bin", "/bin/true"},
		{"-phases", "direct,bogus"},
		{"-phases", "direct", "-concurrency", "0"},
		{"-phases", "direct", "-spans", "stdout"},
		{"-phases", "direct", "-tracegate-cpuprofile", "cpu.out"}, // no tracegate started
		{"-phases", "direct", "-rounds", "0"},
		{"-phases", "direct", "-rounds", "16"},
	} {
		_, err := parseCompareFlags(bad, io.Discard)
		if err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRequestBodies(t *testing.T) {
	if b := string(chatBody("m", true)); !strings.Contains(b, `"stream":true`) || !strings.Contains(b, `"include_usage":true`) {
		t.Errorf("stream body %s", b)
	}
	if b := string(chatBody("m", false)); strings.Contains(b, "stream") || !strings.Contains(b, `"model":"m"`) {
		t.Errorf("plain body %s", b)
	}
	b, err := runBody("name=Alice, topic=a=b")
	if err != nil || string(b) != `{"variables":{"name":"Alice","topic":"a=b"}}` {
		t.Errorf("run body %s, %v", b, err)
	}
	if _, err := runBody("novalue"); err == nil {
		t.Error("a variable without = accepted")
	}
}
