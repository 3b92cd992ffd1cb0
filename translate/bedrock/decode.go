package bedrock

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
	"github.com/valyala/fastjson"
)

var parserPool fastjson.ParserPool

var errNotObject = errors.New("body is not a JSON object")

// DecodeResponse decodes a Converse reply. Converse replies carry no id and no model name:
// the caller knows the model it asked for.
func DecodeResponse(body []byte) (*llm.Response, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("decode bedrock response: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("decode bedrock response: %w", errNotObject)
	}
	msg := v.Get("output", "message")
	if msg == nil || msg.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("decode bedrock response: no output.message")
	}
	resp := &llm.Response{RawFinishReason: string(v.GetStringBytes("stopReason"))}
	var text, jsonText []byte
	sawJSONTool := false
	for _, block := range msg.GetArray("content") {
		switch {
		case block.Exists("text"):
			resp.HasText = true
			text = append(text, block.GetStringBytes("text")...)
		case block.Exists("toolUse"):
			tu := block.Get("toolUse")
			if string(tu.GetStringBytes("name")) == JSONToolName {
				// The forced JSON tool's input is the answer; text beside it is not part of it.
				sawJSONTool = true
				jsonText = objectOrEmpty(tu.Get("input"))
				continue
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{
				ID:        string(tu.GetStringBytes("toolUseId")),
				Name:      string(tu.GetStringBytes("name")),
				Arguments: objectOrEmpty(tu.Get("input")),
			})
		case block.Exists("reasoningContent"):
			rc := block.Get("reasoningContent")
			r := llm.Reasoning{
				Text:      string(rc.GetStringBytes("reasoningText", "text")),
				Signature: string(rc.GetStringBytes("reasoningText", "signature")),
				Redacted:  string(rc.GetStringBytes("redactedContent")),
			}
			resp.Reasoning = append(resp.Reasoning, r)
		}
	}
	resp.Text = string(text)
	if sawJSONTool {
		resp.Text, resp.HasText = string(jsonText), true
	}
	resp.FinishReason = finishReason(resp.RawFinishReason, sawJSONTool, len(resp.ToolCalls))
	resp.Usage = decodeUsage(v.Get("usage"))
	return resp, nil
}

// objectOrEmpty serialises a tool input, which must be an object; anything else counts as no
// arguments, so that one bad input does not lose the reply.
func objectOrEmpty(v *fastjson.Value) []byte {
	if v != nil && v.Type() == fastjson.TypeObject {
		if out, err := jsonw.Value(nil, v); err == nil {
			return out
		}
	}
	return []byte("{}")
}

// FinishReason maps a Converse stopReason (SPEC 5). Unknown reasons are a natural stop;
// RawFinishReason keeps them.
func FinishReason(stopReason string, sawCalls bool) llm.FinishReason {
	switch stopReason {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "guardrail_intervened", "content_filtered":
		return llm.FinishContentFilter
	}
	if sawCalls && stopReason == "" {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

// finishReason is FinishReason adjusted for the forced JSON tool: a reply whose only tool call
// was the synthetic one is a finished answer, not a request to run tools.
func finishReason(stopReason string, sawJSONTool bool, realCalls int) llm.FinishReason {
	if stopReason == "tool_use" && sawJSONTool && realCalls == 0 {
		return llm.FinishStop
	}
	return FinishReason(stopReason, realCalls > 0)
}

// decodeUsage normalises TokenUsage. inputTokens excludes cache reads and writes when the
// model follows Anthropic's convention (totalTokens is then the sum of all four counts); a
// model that reports inputTokens with the cache included has totalTokens = input + output.
func decodeUsage(u *fastjson.Value) llm.Usage {
	if u == nil || u.Type() != fastjson.TypeObject {
		return llm.Usage{}
	}
	in, out := count(u, "inputTokens"), count(u, "outputTokens")
	read, write := count(u, "cacheReadInputTokens"), count(u, "cacheWriteInputTokens")
	total := count(u, "totalTokens")
	input := in + read + write
	if read+write > 0 && total == in+out {
		input = in
	}
	usage := llm.Usage{InputTokens: input, OutputTokens: out, CacheReadTokens: read, CacheWriteTokens: write, Known: true}
	var hour int64
	for _, d := range u.GetArray("cacheDetails") {
		if string(d.GetStringBytes("ttl")) == "1h" {
			hour += count(d, "inputTokens")
		}
	}
	if hour > 0 && hour <= write {
		usage.CacheWriteTokens, usage.CacheWrite1hTokens = write-hour, hour
	}
	return usage
}

// count reads a non-negative integer; anything else is 0.
func count(v *fastjson.Value, key string) int64 {
	f := v.Get(key)
	if f == nil || f.Type() != fastjson.TypeNumber {
		return 0
	}
	n, err := f.Int64()
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// DecodeError decodes an error reply: {"message"} with the exception name in the
// X-Amzn-ErrorType header ("ThrottlingException:http://...") or in "__type"
// ("com.amazon.coral...#ThrottlingException"). Type is the bare exception name; the HTTP
// status carries the retry rule (429 ThrottlingException and ModelNotReadyException, 503
// ServiceUnavailableException, 500 and 408 are retried; 400 ValidationException and 403
// AccessDeniedException are not).
func DecodeError(provider string, status int, body []byte, header translate.HeaderGetter) *llm.UpstreamError {
	e := &llm.UpstreamError{
		Provider:    provider,
		Status:      status,
		RetryAfter:  translate.RetryAfter(header, time.Now()),
		ShouldRetry: translate.ShouldRetry(header),
	}
	if header != nil {
		e.Type = exceptionName(header("X-Amzn-ErrorType"))
	}
	p := parserPool.Get()
	if v, err := p.ParseBytes(body); err == nil && v.Type() == fastjson.TypeObject {
		e.Message = string(v.GetStringBytes("message"))
		if e.Message == "" {
			e.Message = string(v.GetStringBytes("Message"))
		}
		if e.Type == "" {
			e.Type = exceptionName(string(v.GetStringBytes("__type")))
		}
	}
	parserPool.Put(p)
	if e.Message == "" {
		e.Message = translate.TruncateText(body, translate.MaxErrorText)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// exceptionName strips an AWS error type to the exception's name.
func exceptionName(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
