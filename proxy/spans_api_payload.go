package proxy

import (
	"math"
	"time"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/spans"
	"github.com/valyala/fastjson"
)

// Bounds of a CreateSpanPayload beyond the body size limit.
const (
	maxSpanTags      = 64
	maxSpanTagLen    = 256
	maxSpanIDLen     = 256 // model, userId, sessionId
	maxSpanLatencyMs = int64(7 * 24 * time.Hour / time.Millisecond)
	maxSpanTokens    = 1 << 40
)

// spanPayload is CreateSpanPayload (POST /api/v1/spans) as both SDKs send it.
type spanPayload struct {
	SpanID       string
	TraceID      string
	ParentSpanID string
	SpanKind     string
	Model        string
	Provider     string // the SDK enum: openai, anthropic, google, amazon_bedrock, voyage
	Input        []byte // the input object as sent
	Messages     []llm.Message
	Embedding    bool // input.text rather than input.messages
	Variables    map[string]string
	Output       string
	Status       string
	Error        string
	LatencyMs    int64
	InputTokens  int64
	OutputTokens int64
	TotalTokens  int64
	Tags         []string
	UserID       string
	SessionID    string
	Temperature  *float64
	TopP         *float64
	MaxTokens    int
	PromptSlug   string // not sent by the SDKs today; kept when a caller names its prompt
	PromptVer    int
}

// sdkProviderKinds maps the SDKs' provider enum onto tracegate's provider kinds, which the
// price table and gen_ai.provider.name are keyed by.
var sdkProviderKinds = map[string]string{
	"openai":         "openai",
	"anthropic":      "anthropic",
	"google":         "gemini",
	"amazon_bedrock": "bedrock",
	"voyage":         "voyage",
}

// sdkProviderName is the reverse: the provider a Span reports, in the SDKs' terms.
func sdkProviderName(kind string) string {
	for name, k := range sdkProviderKinds {
		if k == kind {
			return name
		}
	}
	return kind
}

// decodeSpanPayload parses and validates a CreateSpanPayload. Errors wrap llm.ErrInvalidRequest
// and name the field. Unknown keys are ignored, and null is absent for optional keys (Node
// sends variables, output and error as null).
func decodeSpanPayload(body []byte) (*spanPayload, error) {
	pp, v, err := parseBodyObject(body)
	defer bodyParsers.Put(pp)
	if err != nil {
		return nil, err
	}
	p := &spanPayload{}
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"spanId", &p.SpanID}, {"model", &p.Model}, {"provider", &p.Provider}, {"status", &p.Status}} {
		if *f.dst, err = requiredString(v, f.name); err != nil {
			return nil, err
		}
	}
	if err := p.checkEnums(); err != nil {
		return nil, err
	}
	if err := p.decodeInput(v.Get("input")); err != nil {
		return nil, err
	}
	for _, f := range [...]struct {
		name string
		dst  *int64
		max  int64
	}{
		{"latencyMs", &p.LatencyMs, maxSpanLatencyMs}, {"inputTokens", &p.InputTokens, maxSpanTokens},
		{"outputTokens", &p.OutputTokens, maxSpanTokens}, {"totalTokens", &p.TotalTokens, maxSpanTokens},
	} {
		if *f.dst, err = requiredCount(v, f.name, f.max); err != nil {
			return nil, err
		}
	}
	if err := p.decodeOptional(v); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *spanPayload) checkEnums() error {
	if !spanIDPattern(p.SpanID) {
		return invalid("spanId %.64q must be sp_ followed by 16 lowercase hex digits", p.SpanID)
	}
	if len(p.Model) > maxSpanIDLen {
		return invalid("model is longer than %d bytes", maxSpanIDLen)
	}
	if _, ok := sdkProviderKinds[p.Provider]; !ok {
		return invalid("provider %.64q must be openai, anthropic, google, amazon_bedrock or voyage", p.Provider)
	}
	if p.Status != "SUCCESS" && p.Status != "ERROR" {
		return invalid("status %.64q must be SUCCESS or ERROR", p.Status)
	}
	return nil
}

// decodeInput keeps the input object; its messages are read for captured content when they
// can be, but a message shape this server does not know (Node's image parts) loses no span.
func (p *spanPayload) decodeInput(in *fastjson.Value) error {
	if in == nil {
		return invalid("input is required")
	}
	if in.Type() != fastjson.TypeObject {
		return invalid("input must be an object")
	}
	p.Input = in.MarshalTo(nil)
	if msgs := in.Get("messages"); msgs != nil && msgs.Type() == fastjson.TypeArray {
		if m, err := decodeLocalMessages(msgs); err == nil {
			p.Messages = m
		}
	} else if in.Get("text") != nil {
		p.Embedding = true
	}
	return nil
}

func (p *spanPayload) decodeOptional(v *fastjson.Value) error {
	var err error
	obj, _ := v.Object()
	obj.Visit(func(key []byte, fv *fastjson.Value) {
		if err != nil {
			return
		}
		switch string(key) {
		case "variables":
			p.Variables, err = decodeVariables(fv)
		case "output":
			p.Output, err = optString(fv, "output")
		case "error":
			p.Error, err = optString(fv, "error")
		case "tags":
			p.Tags, err = optTags(fv)
		case "userId":
			p.UserID, err = optBoundedString(fv, "userId")
		case "sessionId":
			p.SessionID, err = optBoundedString(fv, "sessionId")
		case "traceId":
			p.TraceID, err = optString(fv, "traceId")
		case "parentSpanId":
			p.ParentSpanID, err = optString(fv, "parentSpanId")
		case "spanKind":
			p.SpanKind, err = optString(fv, "spanKind")
			if err == nil && p.SpanKind != "" && p.SpanKind != spans.KindRoot && p.SpanKind != spans.KindLLM && p.SpanKind != spans.KindEmbedding {
				err = invalid("spanKind %.64q must be ROOT, LLM or EMBEDDING", p.SpanKind)
			}
		case "temperature":
			p.Temperature, err = optNumber(fv, "temperature")
		case "topP":
			p.TopP, err = optNumber(fv, "topP")
		case "maxOutputTokens":
			var n int64
			n, err = optCount(fv, "maxOutputTokens", math.MaxInt32)
			p.MaxTokens = int(n)
		case "tools", "toolCalls":
			if t := fv.Type(); t != fastjson.TypeNull && t != fastjson.TypeArray {
				err = invalid("%s must be an array", key)
			}
		case "promptSlug":
			p.PromptSlug, err = optBoundedString(fv, "promptSlug")
		case "promptVersion":
			var n int64
			n, err = optCount(fv, "promptVersion", math.MaxInt32)
			p.PromptVer = int(n)
		}
	})
	if err != nil {
		return err
	}
	if p.SpanKind == spans.KindEmbedding {
		p.Embedding = true
	}
	return nil
}

// ingested is the span to export; content stays out unless capture is on (the recorder
// drops it too, and the store adapter keeps what the recorder reports).
func (p *spanPayload) ingested(capture bool) *spans.IngestedSpan {
	in := &spans.IngestedSpan{
		SpanID: p.SpanID, TraceID: p.TraceID, ParentSpanID: p.ParentSpanID, Kind: p.SpanKind,
		Embedding: p.Embedding, Model: p.Model, ProviderKind: sdkProviderKinds[p.Provider],
		Slug: p.PromptSlug, Version: p.PromptVer,
		Failed: p.Status == "ERROR", Error: p.Error,
		Latency: time.Duration(p.LatencyMs) * time.Millisecond,
		Usage:   llm.Usage{InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, Known: true},
		Tags:    p.Tags, UserID: p.UserID, SessionID: p.SessionID, Variables: p.Variables,
		Temperature: p.Temperature, TopP: p.TopP, MaxTokens: p.MaxTokens,
	}
	if in.Failed && in.Error == "" {
		in.Error = "ERROR"
	}
	if capture {
		in.Messages, in.InputJSON, in.Output = p.Messages, p.Input, p.Output
	}
	return in
}

// spanIDPattern is ^sp_[a-f0-9]{16}$ without a regexp.
func spanIDPattern(s string) bool {
	if len(s) != len(spans.SpanIDPrefix)+16 || s[:len(spans.SpanIDPrefix)] != spans.SpanIDPrefix {
		return false
	}
	for i := len(spans.SpanIDPrefix); i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func requiredString(v *fastjson.Value, field string) (string, error) {
	fv := v.Get(field)
	if fv == nil || fv.Type() == fastjson.TypeNull {
		return "", invalid("%s is required", field)
	}
	if fv.Type() != fastjson.TypeString {
		return "", invalid("%s must be a string", field)
	}
	s := string(fv.GetStringBytes())
	if s == "" {
		return "", invalid("%s must not be empty", field)
	}
	return s, nil
}

func requiredCount(v *fastjson.Value, field string, max int64) (int64, error) {
	fv := v.Get(field)
	if fv == nil || fv.Type() == fastjson.TypeNull {
		return 0, invalid("%s is required", field)
	}
	return optCount(fv, field, max)
}

// optCount reads a non-negative count. A fraction is rounded: a latency measured with a
// sub-millisecond clock is still a latency.
func optCount(v *fastjson.Value, field string, max int64) (int64, error) {
	if v.Type() == fastjson.TypeNull {
		return 0, nil
	}
	if v.Type() != fastjson.TypeNumber {
		return 0, invalid("%s must be a number", field)
	}
	f := v.GetFloat64()
	if f < 0 || f > float64(max) || math.IsNaN(f) {
		return 0, invalid("%s must be between 0 and %d", field, max)
	}
	return int64(math.Round(f)), nil
}

func optNumber(v *fastjson.Value, field string) (*float64, error) {
	switch v.Type() {
	case fastjson.TypeNull:
		return nil, nil
	case fastjson.TypeNumber:
		f := v.GetFloat64()
		return &f, nil
	}
	return nil, invalid("%s must be a number", field)
}

func optBoundedString(v *fastjson.Value, field string) (string, error) {
	s, err := optString(v, field)
	if err == nil && len(s) > maxSpanIDLen {
		return "", invalid("%s is longer than %d bytes", field, maxSpanIDLen)
	}
	return s, err
}

func optTags(v *fastjson.Value) ([]string, error) {
	tags, err := optStrings(v, "tags")
	if err != nil {
		return nil, err
	}
	if len(tags) > maxSpanTags {
		return nil, invalid("tags holds %d tags, more than %d", len(tags), maxSpanTags)
	}
	for i, t := range tags {
		if len(t) > maxSpanTagLen {
			return nil, invalid("tags[%d] is longer than %d bytes", i, maxSpanTagLen)
		}
	}
	return tags, nil
}

// evaluateBody is the body of POST /api/v1/spans/{spanId}/evaluations.
type evaluateBody struct {
	key   string
	value float64
	note  string
}

const maxEvaluatorKeyLen = 256

func decodeEvaluateBody(body []byte) (*evaluateBody, error) {
	pp, v, err := parseBodyObject(body)
	defer bodyParsers.Put(pp)
	if err != nil {
		return nil, err
	}
	e := &evaluateBody{}
	if e.key, err = requiredString(v, "evaluatorKey"); err != nil {
		return nil, err
	}
	if len(e.key) > maxEvaluatorKeyLen {
		return nil, invalid("evaluatorKey is longer than %d bytes", maxEvaluatorKeyLen)
	}
	fv := v.Get("value")
	switch {
	case fv == nil || fv.Type() == fastjson.TypeNull:
		return nil, invalid("value is required")
	case fv.Type() != fastjson.TypeNumber:
		return nil, invalid("value must be a number")
	}
	e.value = fv.GetFloat64()
	if math.IsInf(e.value, 0) || math.IsNaN(e.value) {
		return nil, invalid("value must be a finite number")
	}
	if nv := v.Get("note"); nv != nil {
		if e.note, err = optString(nv, "note"); err != nil {
			return nil, err
		}
	}
	return e, nil
}
