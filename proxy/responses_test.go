package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"github.com/tracegate/tracegate/spans"
	"go.opentelemetry.io/otel/trace"
)

// chatOnlyProvider is an OpenAI-compatible server without the Responses API, on the OpenAI
// fake, for local-* models.
const (
	chatOnlyProvider = `  - {name: local, type: openai, wire_api: chat, base_url: "${FAKE_OPENAI_URL}", api_key: sk-local-0000000000, timeout: 2s}`
	chatOnlyRoute    = `  - {match: "local-*", provider: local}`
)

func newResponsesHarness(t *testing.T, o harnessOptions) *harness {
	o.extraProviders, o.extraRoutes = chatOnlyProvider, chatOnlyRoute
	return newHarness(t, o)
}

func weatherFunction() responses.ToolUnionParam {
	return responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
		Name:        "get_weather",
		Description: openai.String("Get the current weather"),
		Parameters: map[string]any{"type": "object", "properties": map[string]any{
			"city": map[string]any{"type": "string"}, "units": map[string]any{"type": "string"}}, "required": []string{"city"}},
		Strict: openai.Bool(false),
	}}
}

func textInput(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

// providerBody decodes what a fake provider received.
func providerBody(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("provider got invalid JSON: %v: %s", err, b)
	}
	return m
}

func TestResponsesPassthrough(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai-responses/plain_text.response.json")}})
	var hdr http.Header
	resp, err := h.client(option.WithResponseInto(new(*http.Response))).Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "gpt-5.4", Input: textInput("Tell me a three sentence bedtime story about a unicorn."),
	}, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(r)
		if res != nil {
			hdr = res.Header
		}
		return res, err
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.OutputText(), "In a peaceful grove") || resp.ID != "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b" {
		t.Errorf("client got %q (%s)", resp.OutputText(), resp.ID)
	}
	if resp.Usage.InputTokens != 36 || resp.Usage.OutputTokens != 87 {
		t.Errorf("usage %+v", resp.Usage)
	}
	got := h.upstream.requests()
	if len(got) != 1 || got[0].Path != "/responses" {
		t.Fatalf("provider got %+v", got)
	}
	body := providerBody(t, got[0].Body)
	if body["model"] != "gpt-5.4" || body["input"] != "Tell me a three sentence bedtime story about a unicorn." {
		t.Errorf("provider body %s", got[0].Body)
	}
	if got[0].Header.Get("Authorization") != "Bearer sk-test-secret-key-123456" {
		t.Errorf("provider auth %q", got[0].Header.Get("Authorization"))
	}
	if hdr.Get(headerCost) == "" || hdr.Get(headerSpanID) == "" || hdr.Get("traceparent") == "" {
		t.Errorf("reply headers %v", hdr)
	}
	run := findSpan(t, h, "chat gpt-5.4", trace.SpanKindServer)
	if attr(run, "gen_ai.usage.input_tokens").AsInt64() != 36 || attr(run, "gen_ai.usage.output_tokens").AsInt64() != 87 {
		t.Errorf("run span usage: %v", run.Attributes())
	}
	att := findSpan(t, h, "chat gpt-5.4", trace.SpanKindClient)
	if attr(att, spans.AttrProvider).AsString() != "openai" {
		t.Errorf("attempt span %v", att.Attributes())
	}
}

func TestResponsesPassthroughModelRewrite(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai-responses/tool_call.response.json")}})
	resp, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "openai/gpt-5.4", Input: textInput("What is the weather like in Boston today?"),
		Tools: []responses.ToolUnionParam{weatherFunction()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Output) != 1 || resp.Output[0].Type != "function_call" || resp.Output[0].CallID != "call_unLAR8MvFNptuiZK6K6HCy5k" {
		t.Errorf("client got %+v", resp.Output)
	}
	body := providerBody(t, h.upstream.requests()[0].Body)
	if body["model"] != "gpt-5.4" || len(body["tools"].([]any)) != 1 {
		t.Errorf("provider body %v", body)
	}
}

func TestResponsesPassthroughError(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{{Status: 400,
		Body: []byte(`{"error":{"message":"Invalid value for 'input'.","type":"invalid_request_error","param":"input","code":"invalid_value"}}`)}}})
	_, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{Model: "gpt-5.4", Input: textInput("x")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "invalid_value" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("client got %v", err)
	}
}

// streamEvents reads a Responses stream with the official client and returns the event
// types in order and the final response.
func streamEvents(t *testing.T, h *harness, params responses.ResponseNewParams) ([]string, responses.Response, map[string]string) {
	return streamEventsChecked(t, h, params, true)
}

// streamEventsChecked is streamEvents; checkSeq asks for sequence numbers counting from 0,
// which the recorded documentation stream lacks.
func streamEventsChecked(t *testing.T, h *harness, params responses.ResponseNewParams, checkSeq bool) ([]string, responses.Response, map[string]string) {
	t.Helper()
	st := h.client().Responses.NewStreaming(context.Background(), params)
	var types []string
	var final responses.Response
	args := map[string]string{}
	seq := int64(-1)
	for st.Next() {
		ev := st.Current()
		types = append(types, ev.Type)
		if checkSeq && ev.SequenceNumber != seq+1 {
			t.Errorf("event %s has sequence_number %d after %d", ev.Type, ev.SequenceNumber, seq)
		}
		seq = ev.SequenceNumber
		switch ev.Type {
		case "response.completed", "response.incomplete", "response.failed":
			final = ev.Response
		case "response.function_call_arguments.done":
			args[ev.ItemID] = ev.Arguments
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	terminal := 0
	for _, ty := range types {
		if ty == "response.completed" || ty == "response.incomplete" || ty == "response.failed" {
			terminal++
		}
	}
	if terminal != 1 || !isTerminal(types[len(types)-1]) {
		t.Errorf("want exactly one terminal event, last: %v", types)
	}
	return types, final, args
}

func isTerminal(ty string) bool {
	return ty == "response.completed" || ty == "response.incomplete" || ty == "response.failed"
}

func TestResponsesPassthroughStream(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{sseReply(t, "openai-responses/streaming_text.sse")}})
	types, final, _ := streamEventsChecked(t, h, responses.ResponseNewParams{Model: "gpt-5.4", Instructions: openai.String("You are a helpful assistant."), Input: textInput("Hello!")}, false)
	if types[0] != "response.created" || len(types) != 9 {
		t.Errorf("events %v", types)
	}
	if final.OutputText() != "Hi there! How can I assist you today?" || final.Usage.InputTokens != 37 {
		t.Errorf("final %q %+v", final.OutputText(), final.Usage)
	}
	run := waitSpan(t, h, "chat gpt-5.4", trace.SpanKindServer)
	if attr(run, "gen_ai.usage.output_tokens").AsInt64() != 11 {
		t.Errorf("run span usage: %v", run.Attributes())
	}
	body := providerBody(t, h.upstream.requests()[0].Body)
	if body["stream"] != true || h.upstream.requests()[0].Path != "/responses" {
		t.Errorf("provider got %v", body)
	}
}

func TestResponsesPassthroughStreamTruncated(t *testing.T) {
	full := string(fixture(t, "openai-responses/streaming_text.sse"))
	cut := full[:strings.Index(full, "event: response.completed")]
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{{Status: 200, Header: map[string]string{"Content-Type": "text/event-stream"}, Body: []byte(cut)}}})
	st := h.client().Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "gpt-5.4", Input: textInput("Hello!")})
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("a stream that broke off ended cleanly for the client")
	}
	run := waitSpan(t, h, "chat gpt-5.4", trace.SpanKindServer)
	if run.Status().Code != 1 { // codes.Error
		t.Errorf("run span status %v", run.Status())
	}
}

func TestResponsesAnthropicToolLoop(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{anthropicReplies: []upstreamReply{
		okReply(t, "anthropic/tool_call.response.json"), okReply(t, "anthropic/tool_result_turn.response.json")}})
	tools := []responses.ToolUnionParam{weatherFunction(), {OfWebSearch: &responses.WebSearchToolParam{Type: "web_search"}}}
	first, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "claude-sonnet-4-5", Instructions: openai.String("Be brief."), Input: textInput("Weather in SF?"),
		Tools: tools, MaxOutputTokens: openai.Int(512),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.ID, "resp_") || first.Object != "response" || first.Status != "completed" {
		t.Errorf("reply %s %s %s", first.ID, first.Object, first.Status)
	}
	if len(first.Output) != 2 || first.Output[0].Type != "message" || first.Output[1].Type != "function_call" {
		t.Fatalf("output %+v", first.Output)
	}
	call := first.Output[1]
	if call.CallID != "toolu_01TZR6ZrLHdpAWdmhVPuDfjQ" || call.Name != "get_weather" {
		t.Errorf("call %+v", call)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(call.Arguments.OfString), &args); err != nil || args["city"] != "San Francisco" {
		t.Errorf("arguments %q: %v", call.Arguments.OfString, err)
	}
	if first.Usage.InputTokens != 402 || first.Usage.OutputTokens != 89 || first.Usage.TotalTokens != 491 {
		t.Errorf("usage %+v", first.Usage)
	}
	sent := providerBody(t, h.anthropic.requests()[0].Body)
	if sent["system"] != "Be brief." || sent["max_tokens"] != float64(512) || len(sent["tools"].([]any)) != 1 {
		t.Errorf("anthropic got %v", sent)
	}
	run := findSpan(t, h, "chat claude-sonnet-4-5", trace.SpanKindServer)
	if got := attr(run, spans.AttrDroppedTools).AsStringSlice(); len(got) != 1 || got[0] != "web_search" {
		t.Errorf("dropped tools on span: %v", got)
	}

	out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temperature":68}`)
	out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	second, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "claude-sonnet-4-5", Tools: tools,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("Weather in SF?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(call.Arguments.OfString, call.CallID, call.Name),
			out,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if second.OutputText() != "The current temperature in San Francisco is 68 degrees Fahrenheit." {
		t.Errorf("second reply %q", second.OutputText())
	}
	msgs := providerBody(t, h.anthropic.requests()[1].Body)["messages"].([]any)
	if len(msgs) != 3 {
		t.Fatalf("anthropic got messages %v", msgs)
	}
	use := msgs[1].(map[string]any)["content"].([]any)[0].(map[string]any)
	result := msgs[2].(map[string]any)["content"].([]any)[0].(map[string]any)
	if use["type"] != "tool_use" || use["id"] != call.CallID || result["type"] != "tool_result" || result["tool_use_id"] != call.CallID {
		t.Errorf("anthropic got tool turn %v / %v", use, result)
	}
}

func TestResponsesTranslatedStreams(t *testing.T) {
	cases := []struct {
		name, model string
		reply       upstreamReply
		wantText    string
		wantCall    string
		upstream    func(h *harness) *fakeUpstream
		wantPath    string
	}{
		{"anthropic", "claude-sonnet-4-5", sseReply(t, "anthropic/streaming_tool_call.sse"), "", "get_weather",
			func(h *harness) *fakeUpstream { return h.anthropic }, "/v1/messages"},
		{"gemini", "gemini-2.5-flash", sseReply(t, "gemini/streaming_text.sse"), "The sky is blue", "",
			func(h *harness) *fakeUpstream { return h.gemini }, ":streamGenerateContent"},
		{"chat-only", "local-llama", sseReply(t, "openai/streaming_tool_call.sse"), "", "get_weather",
			func(h *harness) *fakeUpstream { return h.upstream }, "/chat/completions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := harnessOptions{replies: []upstreamReply{tc.reply}}
			switch tc.name {
			case "anthropic":
				o.anthropicReplies = o.replies
			case "gemini":
				o.geminiReplies = o.replies
			}
			h := newResponsesHarness(t, o)
			types, final, args := streamEvents(t, h, responses.ResponseNewParams{
				Model: tc.model, Input: textInput("Weather in SF?"), Tools: []responses.ToolUnionParam{weatherFunction()},
			})
			if types[0] != "response.created" || types[1] != "response.in_progress" || types[2] != "response.output_item.added" {
				t.Errorf("events %v", types)
			}
			if tc.wantText != "" && !strings.Contains(final.OutputText(), tc.wantText) {
				t.Errorf("text %q", final.OutputText())
			}
			if tc.wantCall != "" {
				var call *responses.ResponseOutputItemUnion
				for i := range final.Output {
					if final.Output[i].Type == "function_call" {
						call = &final.Output[i]
					}
				}
				if call == nil || call.Name != tc.wantCall || args[call.ID] != call.Arguments.OfString || !json.Valid([]byte(call.Arguments.OfString)) {
					t.Fatalf("call %+v, streamed arguments %v", call, args)
				}
			}
			if final.Usage.InputTokens == 0 || final.Usage.TotalTokens != final.Usage.InputTokens+final.Usage.OutputTokens {
				t.Errorf("usage %+v", final.Usage)
			}
			got := tc.upstream(h).requests()
			if len(got) != 1 || !strings.Contains(got[0].Path, tc.wantPath) {
				t.Fatalf("provider got %+v", got)
			}
			run := waitSpan(t, h, "chat "+tc.model, trace.SpanKindServer)
			if attr(run, "gen_ai.usage.input_tokens").AsInt64() != final.Usage.InputTokens {
				t.Errorf("span usage %v vs %+v", run.Attributes(), final.Usage)
			}
		})
	}
}

func TestResponsesChatOnly(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{okReply(t, "openai/plain_text.response.json")}})
	resp, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "local-llama", Instructions: openai.String("Be brief."), Input: textInput("Hello"),
		Temperature: openai.Float(0.5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "Hello! How can I assist you today?" || resp.Usage.InputTokens != 19 || resp.Usage.OutputTokens != 10 {
		t.Errorf("client got %q %+v", resp.OutputText(), resp.Usage)
	}
	got := h.upstream.requests()
	if len(got) != 1 || got[0].Path != "/chat/completions" {
		t.Fatalf("provider got %+v", got)
	}
	body := providerBody(t, got[0].Body)
	msgs := body["messages"].([]any)
	if body["model"] != "local-llama" || body["temperature"] != 0.5 || len(msgs) != 2 ||
		msgs[0].(map[string]any)["content"] != "Be brief." || msgs[1].(map[string]any)["content"] != "Hello" {
		t.Errorf("provider body %s", got[0].Body)
	}
}

func TestResponsesPreviousResponseID(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{anthropicReplies: []upstreamReply{
		okReply(t, "anthropic/plain_text.response.json"), okReply(t, "anthropic/tool_result_turn.response.json")}})
	first, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{Model: "claude-sonnet-4-5", Input: textInput("Hi")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "claude-sonnet-4-5", Input: textInput("And now?"), PreviousResponseID: openai.String(first.ID),
	}); err != nil {
		t.Fatal(err)
	}
	msgs := providerBody(t, h.anthropic.requests()[1].Body)["messages"].([]any)
	if len(msgs) != 3 || msgs[0].(map[string]any)["role"] != "user" || msgs[1].(map[string]any)["role"] != "assistant" {
		t.Errorf("continued conversation: %v", msgs)
	}

	_, err = h.client().Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "claude-sonnet-4-5", Input: textInput("?"), PreviousResponseID: openai.String("resp_unknown"),
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "previous_response_id" || apiErr.Type != "invalid_request_error" {
		t.Fatalf("unknown previous_response_id: %v", err)
	}
	if n := len(h.anthropic.requests()); n != 2 {
		t.Errorf("the provider was called for an unknown previous_response_id (%d calls)", n)
	}
}

func TestResponsesStoredResponse(t *testing.T) {
	stored := fixture(t, "openai-responses/plain_text.response.json")
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{{Status: 200, Body: stored}, {Status: 200, Body: stored},
		{Status: 200, Body: []byte(`{"id":"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b","object":"response","deleted":true}`)}},
		anthropicReplies: []upstreamReply{okReply(t, "anthropic/plain_text.response.json")}})
	c := h.client()
	created, err := c.Responses.New(context.Background(), responses.ResponseNewParams{Model: "gpt-5.4", Input: textInput("story")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Responses.Get(context.Background(), created.ID, responses.ResponseGetParams{})
	if err != nil || got.ID != created.ID {
		t.Fatalf("get: %v %v", got, err)
	}
	if err := c.Responses.Delete(context.Background(), created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	reqs := h.upstream.requests()
	if len(reqs) != 3 || reqs[1].Path != "/responses/"+created.ID || reqs[2].Path != "/responses/"+created.ID {
		t.Errorf("provider got %+v", reqs)
	}

	translated, err := c.Responses.New(context.Background(), responses.ResponseNewParams{Model: "claude-sonnet-4-5", Input: textInput("Hi")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Responses.Get(context.Background(), translated.ID, responses.ResponseGetParams{})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("get of a translated response: %v", err)
	}
	if err := c.Responses.Delete(context.Background(), translated.ID); err != nil {
		t.Fatalf("delete of a translated response: %v", err)
	}
	if len(h.upstream.requests()) != 3 {
		t.Errorf("a translated response's GET or DELETE reached the OpenAI provider")
	}
}

// Anthropic thinking reaches the client as a reasoning item with its signature in
// encrypted_content, and the item sent back in the next turn reaches Anthropic as the signed
// thinking block it must get.
func TestResponsesAnthropicReasoning(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{anthropicReplies: []upstreamReply{
		sseReply(t, "anthropic/streaming_thinking.synthetic.sse"), okReply(t, "anthropic/plain_text.response.json")}})
	params := responses.ResponseNewParams{Model: "claude-sonnet-4-5", Input: textInput("What is 27 * 453?"),
		Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortMedium, Summary: shared.ReasoningSummaryAuto}}
	types, final, _ := streamEvents(t, h, params)
	if !strings.Contains(strings.Join(types, " "), "response.reasoning_summary_text.delta") {
		t.Errorf("events %v", types)
	}
	if len(final.Output) != 2 || final.Output[0].Type != "reasoning" || final.Output[1].Type != "message" {
		t.Fatalf("output %+v", final.Output)
	}
	rs := final.Output[0]
	if rs.EncryptedContent != "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds" || len(rs.Summary) != 1 ||
		rs.Summary[0].Text != "27 * 453: 27*400 = 10800, 27*53 = 1431, sum 12231." {
		t.Errorf("reasoning item %+v", rs)
	}
	sent := providerBody(t, h.anthropic.requests()[0].Body)
	if th, _ := sent["thinking"].(map[string]any); th["type"] != "enabled" || th["budget_tokens"] != float64(8192) {
		t.Errorf("anthropic got thinking %v", sent["thinking"])
	}

	replayed := responses.ResponseInputItemParamOfReasoning(rs.ID, []responses.ResponseReasoningItemSummaryParam{{Text: rs.Summary[0].Text}})
	replayed.OfReasoning.EncryptedContent = openai.String(rs.EncryptedContent)
	if _, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{Model: "claude-sonnet-4-5",
		Reasoning: params.Reasoning,
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("What is 27 * 453?", responses.EasyInputMessageRoleUser),
			replayed,
			responses.ResponseInputItemParamOfMessage(final.OutputText(), responses.EasyInputMessageRoleAssistant),
			responses.ResponseInputItemParamOfMessage("And doubled?", responses.EasyInputMessageRoleUser),
		}}}); err != nil {
		t.Fatal(err)
	}
	msgs := providerBody(t, h.anthropic.requests()[1].Body)["messages"].([]any)
	blocks := msgs[1].(map[string]any)["content"].([]any)
	th := blocks[0].(map[string]any)
	if th["type"] != "thinking" || th["signature"] != rs.EncryptedContent || blocks[1].(map[string]any)["text"] != "27 * 453 = 12,231" {
		t.Errorf("anthropic got the assistant turn %v", blocks)
	}
}

// A passed-through Responses call that keeps failing falls back to an Anthropic model, which
// is translated; attribution headers land on the run span as on chat completions.
func TestResponsesFallbackAndAttribution(t *testing.T) {
	fail := upstreamReply{Status: 500, Body: []byte(`{"error":{"message":"boom","type":"server_error","code":null}}`)}
	h := newResponsesHarness(t, harnessOptions{replies: []upstreamReply{fail},
		anthropicReplies: []upstreamReply{okReply(t, "anthropic/plain_text.response.json")},
		extraYAML:        "fallbacks: {gpt-5.4: [claude-sonnet-4-5]}\n"})
	resp, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{Model: "gpt-5.4", Input: textInput("Hi")},
		option.WithHeader("X-Tracegate-Tags", "a,b"), option.WithHeader("X-Tracegate-User-Id", "u1"),
		option.WithHeader("X-Tracegate-Session-Id", "s1"),
		option.WithHeader("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "resp_") || resp.OutputText() == "" || len(h.upstream.requests()) != 2 {
		t.Errorf("reply %s %q after %d OpenAI attempts", resp.ID, resp.OutputText(), len(h.upstream.requests()))
	}
	run := findSpan(t, h, "chat gpt-5.4", trace.SpanKindServer)
	if run.SpanContext().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || attr(run, "user.id").AsString() != "u1" ||
		attr(run, "session.id").AsString() != "s1" || len(attr(run, "tracegate.tags").AsStringSlice()) != 2 {
		t.Errorf("run span %v", run.Attributes())
	}
	attempts := 0
	for _, s := range h.spans.GetSpans().Snapshots() {
		if s.SpanKind() == trace.SpanKindClient {
			attempts++
		}
	}
	if attempts != 3 {
		t.Errorf("%d attempt spans, want 2 OpenAI and 1 Anthropic", attempts)
	}
}

func TestResponsesGeminiToolCall(t *testing.T) {
	h := newResponsesHarness(t, harnessOptions{geminiReplies: []upstreamReply{okReply(t, "gemini/tool_call.response.json")}})
	resp, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{Model: "gemini-2.0-flash",
		Input: textInput("10 / 2?"), Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
			Name: "customDivide", Parameters: map[string]any{"type": "object"}, Strict: openai.Bool(false)}}},
		Text: responses.ResponseTextConfigParam{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Output) != 1 || resp.Output[0].Type != "function_call" || resp.Output[0].Name != "customDivide" ||
		resp.Usage.InputTokens != 17 || resp.Usage.OutputTokens != 6 {
		t.Fatalf("reply %+v", resp)
	}
	var args map[string]float64
	if err := json.Unmarshal([]byte(resp.Output[0].Arguments.OfString), &args); err != nil || args["numerator"] != 10 {
		t.Errorf("arguments %q", resp.Output[0].Arguments.OfString)
	}
	sent := providerBody(t, h.gemini.requests()[0].Body)
	if tools, _ := sent["tools"].([]any); len(tools) != 1 {
		t.Errorf("gemini got %v", sent)
	}
}

// text.format json_schema reaches Anthropic as its structured output; a reply cut at
// max_tokens is an incomplete response.
func TestResponsesStructuredOutputAndIncomplete(t *testing.T) {
	cut := []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"{\"city\":\"Pa"}],
	"stop_reason":"max_tokens","usage":{"input_tokens":20,"output_tokens":5}}`)
	h := newResponsesHarness(t, harnessOptions{anthropicReplies: []upstreamReply{{Status: 200, Body: cut}}})
	resp, err := h.client().Responses.New(context.Background(), responses.ResponseNewParams{Model: "claude-sonnet-4-5",
		Input: textInput("Capital of France as JSON"), MaxOutputTokens: openai.Int(5),
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{
			OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{Name: "city",
				Schema: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "incomplete" || resp.IncompleteDetails.Reason != "max_output_tokens" || resp.MaxOutputTokens != 5 {
		t.Errorf("status %s %+v", resp.Status, resp.IncompleteDetails)
	}
	if resp.Text.Format.Type != "json_schema" || resp.Text.Format.Name != "city" {
		t.Errorf("echoed format %+v", resp.Text.Format)
	}
	sent := providerBody(t, h.anthropic.requests()[0].Body)
	oc, _ := sent["output_config"].(map[string]any)
	if f, _ := oc["format"].(map[string]any); f["type"] != "json_schema" || sent["max_tokens"] != float64(5) {
		t.Errorf("anthropic got %v", sent)
	}
}

// A client that leaves a translated stream cancels the provider's request at once, and the
// run span records it, even while the provider is silent.
func TestResponsesClientDisconnectCancelsUpstream(t *testing.T) {
	chunks := [][]byte{[]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n")}
	for i := 0; i < 20; i++ {
		chunks = append(chunks, []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n"))
	}
	h := newResponsesHarness(t, harnessOptions{anthropicReplies: []upstreamReply{{
		Status: 200, Header: map[string]string{"Content-Type": "text/event-stream"}, Chunks: chunks, ChunkDelay: time.Minute}}})
	ctx, cancel := context.WithCancel(context.Background())
	st := h.client().Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "claude-sonnet-4-5", Input: textInput("Hi")})
	if !st.Next() || st.Current().Type != "response.created" {
		t.Fatalf("no first event: %v", st.Err())
	}
	cancel()
	st.Close()
	select {
	case <-h.anthropic.cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the provider's request was not cancelled after the client left")
	}
	run := waitSpan(t, h, "chat claude-sonnet-4-5", trace.SpanKindServer)
	if run.Status().Code.String() != "Error" || attr(run, "error.type").AsString() == "" {
		t.Errorf("run span status %v error.type %v", run.Status(), attr(run, "error.type"))
	}
}

// An Anthropic stream that breaks with an error event ends the client's stream with
// response.failed carrying the error and the text so far, never a clean completion.
func TestResponsesTranslatedStreamFailure(t *testing.T) {
	head := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hal\"}}\n\n"
	body := append([]byte(head), fixture(t, "anthropic/error_overloaded_midstream.synthetic.sse")...)
	h := newResponsesHarness(t, harnessOptions{anthropicReplies: []upstreamReply{{Status: 200, Header: map[string]string{"Content-Type": "text/event-stream"}, Body: body}}})
	types, final, _ := streamEvents(t, h, responses.ResponseNewParams{Model: "claude-sonnet-4-5", Input: textInput("Hi")})
	if types[len(types)-1] != "response.failed" || final.Status != "failed" || final.Error.Message != "Overloaded" || final.OutputText() != "Hal" {
		t.Errorf("events %v, final %+v", types, final)
	}
	run := waitSpan(t, h, "chat claude-sonnet-4-5", trace.SpanKindServer)
	if run.Status().Code.String() != "Error" {
		t.Errorf("run span status %v", run.Status())
	}
}
