package openai

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tracegate/tracegate/llm"
)

func TestAppendJSONString(t *testing.T) {
	cases := map[string]string{
		"plain":          `"plain"`,
		"q\"b\\":         `"q\"b\\"`,
		"\n\r\t\b\f":     `"\n\r\t\b\f"`,
		"\x00\x1f\x7f":   `"\u0000\u001f` + "\x7f" + `"`,
		"é😀":             `"é😀"`,
		"\u2028\u2029":   `"\u2028\u2029"`,
		"bad\xffutf8":    `"bad\ufffdutf8"`,
		"<html>&</html>": `"<html>&</html>"`,
		"":               `""`,
	}
	for in, want := range cases {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
		if got := string(appendJSONString(nil, []byte(in))); got != want {
			t.Errorf("appendJSONString([]byte %q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "é", "\xff\xfe", "\u2028", "\\u0000", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", out, s, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip %q -> %q", s, back)
		}
		if !utf8.ValidString(s) && strings.Count(back, "\uFFFD") < strings.Count(want, "\uFFFD") {
			t.Fatalf("invalid bytes not replaced: %q -> %q", s, back)
		}
	})
}

func TestUnquote(t *testing.T) {
	cases := map[string]string{
		`plain`:              "plain",
		`a\"b\\c\/d`:         `a"b\c/d`,
		`\n\r\t\b\f`:         "\n\r\t\b\f",
		`\u00e9\ud83d\ude00`: "é😀",
		`\ud83d`:             "\uFFFD",
		`\ud83dx`:            "\uFFFDx",
		`\ud83d\u0041`:       "\uFFFDA",
	}
	for in, want := range cases {
		got, ok := unquote([]byte(in))
		if !ok || got != want {
			t.Errorf("unquote(%s) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{`\`, `\x`, `\u12`, `\u12g4`} {
		if _, ok := unquote([]byte(bad)); ok {
			t.Errorf("unquote(%s) accepted", bad)
		}
	}
}

// The canonical request survives encode -> decode for every text and tool shape the encoder
// emits.
func TestEncodeDecodeRequestRoundTrip(t *testing.T) {
	req := &llm.Request{
		Model: "m",
		Messages: []llm.Message{
			{Role: llm.RoleDeveloper, Parts: []llm.Part{llm.TextPart("dev \u2028 \x01")}},
			{Role: llm.RoleUser, Parts: []llm.Part{llm.TextPart("a"), llm.TextPart("b")}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: llm.ToolCall{ID: "1", Name: "f", Arguments: []byte(`{"k":["v",1,true,null]}`)}}}},
			{Role: llm.RoleTool, ToolCallID: "1", ToolName: "f", Parts: []llm.Part{llm.TextPart("ok")}},
		},
		Tools:      []llm.Tool{{Name: "f", Parameters: []byte(`{"type":"object"}`)}},
		ToolChoice: llm.ToolChoice{Mode: llm.ToolChoiceRequired},
		MaxTokens:  10,
		Stop:       []string{"x"},
		Stream:     true,
	}
	body, err := EncodeRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	got, includeUsage, err := DecodeRequestOptions(body)
	if err != nil {
		t.Fatal(err)
	}
	if !includeUsage {
		t.Fatal("streaming request did not ask for usage")
	}
	gotBody, err := EncodeRequest(nil, got)
	if err != nil {
		t.Fatal(err)
	}
	if string(gotBody) != string(body) {
		t.Fatalf("second encoding differs\n got %s\nwant %s", gotBody, body)
	}
}
