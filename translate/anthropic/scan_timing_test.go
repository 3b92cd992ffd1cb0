package anthropic

import (
	"strings"
	"testing"
)

// claudeCodeSizedBody is a Messages body the size Claude Code sends a few turns into a session:
// a long system prompt, a dozen tool definitions and a conversation, ~120 KB, with the members
// ScanMessagesRequest reads at the end, after everything it skips.
func claudeCodeSizedBody() []byte {
	var b strings.Builder
	b.WriteString(`{"system":[{"type":"text","text":"`)
	b.WriteString(strings.Repeat(`You are an interactive CLI tool. \"Quoted\" and \\ escaped text.\n`, 300))
	b.WriteString(`","cache_control":{"type":"ephemeral"}}],"tools":[`)
	for i := range 12 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"Tool` + strings.Repeat("x", i) + `","description":"` + strings.Repeat("Does a thing with files. ", 40) +
			`","input_schema":{"type":"object","properties":{"path":{"type":"string","description":"A path"},"limit":{"type":"number"}},"required":["path"]}}`)
	}
	b.WriteString(`],"messages":[`)
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","content":[{"type":"text","text":"` + strings.Repeat("please look at the code ", 40) + `"}]},`)
		b.WriteString(`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"Read","input":{"path":"/a/b.go","limit":200}}]}`)
	}
	b.WriteString(`],"max_tokens":32000,"temperature":1,"metadata":{"user_id":"{\"device_id\":\"d1\",\"account_uuid\":\"a1\",\"session_id\":\"s1\"}"},"model":"claude-sonnet-4-5","stream":true}`)
	return []byte(b.String())
}

func BenchmarkScanMessagesRequest(b *testing.B) {
	body := claudeCodeSizedBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ScanMessagesRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
