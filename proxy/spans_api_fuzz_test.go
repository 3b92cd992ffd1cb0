package proxy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fasthttp"
)

func FuzzDecodeSpanPayload(f *testing.F) {
	files, _ := filepath.Glob("testdata/spans/*.json")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `[`, `null`, `{"spanId":"sp_0123456789abcdef","latencyMs":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeSpanPayload(body)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error does not wrap ErrInvalidRequest: %v", err)
			}
			return
		}
		if !spanIDPattern(p.SpanID) || sdkProviderKinds[p.Provider] == "" || p.LatencyMs < 0 || p.InputTokens < 0 || len(p.Tags) > maxSpanTags {
			t.Fatalf("accepted %+v", p)
		}
		if _, err := decodeEvaluateBody(body); err != nil && !errors.Is(err, llm.ErrInvalidRequest) {
			t.Fatalf("evaluate body error does not wrap ErrInvalidRequest: %v", err)
		}
	})
}

func FuzzParseSpanFilter(f *testing.F) {
	for _, s := range []string{"", "startDate=2026-01-02T03:04:05Z&endDate=2026-01-03", "tags=a,b&limit=5&status=ERROR",
		"startDate=2026-01-02T03:04:05.123456", "endDate=2026-01-02T03:04:05%2B02:00", "limit=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		var args fasthttp.Args
		args.Parse(query)
		flt, err := parseSpanFilter(&args)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error does not wrap ErrInvalidRequest: %v", err)
			}
			return
		}
		if flt.Limit < 0 || !flt.Start.IsZero() && !flt.End.IsZero() && flt.End.Before(flt.Start) {
			t.Fatalf("accepted %+v", flt)
		}
	})
}
