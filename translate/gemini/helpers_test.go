package gemini

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// fixtureNames lists testdata files with the given suffix, without the suffix.
func fixtureNames(t testing.TB, suffix string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*"+suffix))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no %s fixtures: %v", suffix, err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = strings.TrimSuffix(filepath.Base(p), suffix)
	}
	return names
}

func parseJSON(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	return v
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertJSONEqual compares two JSON documents as parsed values.
func assertJSONEqual(t testing.TB, got, want []byte) {
	t.Helper()
	g, w := parseJSON(t, got), parseJSON(t, want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", mustJSON(t, g), mustJSON(t, w))
	}
}

// streamResult is a stream replayed the way a consumer assembles it.
type streamResult struct {
	types      []llm.StreamEventType
	id, model  string
	text       string
	calls      []llm.ToolCall
	indices    []int
	finish     llm.FinishReason
	raw        string
	usage      llm.Usage
	usageCount int
	reasoning  string
	err        error // what ended the stream
}

func replay(t testing.TB, r io.Reader) streamResult {
	t.Helper()
	d := NewStreamDecoder(r)
	var res streamResult
	var text strings.Builder
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("stream never ended")
		}
		ev, err := d.Next()
		if err != nil {
			res.err = err
			break
		}
		res.types = append(res.types, ev.Type)
		switch ev.Type {
		case llm.EventStart:
			res.id, res.model = ev.ID, ev.Model
		case llm.EventText:
			text.WriteString(ev.Text)
		case llm.EventToolCallStart:
			res.calls = append(res.calls, llm.ToolCall{ID: ev.ToolCallID, Name: ev.ToolName, Signature: ev.Signature})
			res.indices = append(res.indices, ev.ToolIndex)
		case llm.EventToolCallDelta:
			if ev.ToolIndex >= len(res.calls) {
				t.Fatalf("delta for unknown call %d", ev.ToolIndex)
			}
			res.calls[ev.ToolIndex].Arguments = append(res.calls[ev.ToolIndex].Arguments, ev.Text...)
		case llm.EventFinish:
			res.finish, res.raw = ev.FinishReason, ev.RawFinishReason
		case llm.EventUsage:
			res.usage = ev.Usage // overwrite, never sum
			res.usageCount++
		case llm.EventReasoning:
			res.reasoning += ev.Text
		default:
			t.Fatalf("unexpected event type %d", ev.Type)
		}
	}
	// The terminal error must stick.
	if _, err := d.Next(); !errors.Is(err, res.err) && err != res.err {
		t.Errorf("second Next after end: %v, want %v", err, res.err)
	}
	res.text = text.String()
	return res
}
