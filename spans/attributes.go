package spans

import (
	"errors"
	"strconv"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Attribute keys tracegate adds beside the GenAI semantic conventions (DESIGN.md section 6).
const (
	AttrCost               = "gen_ai.usage.cost" // USD; read by Langfuse
	AttrLLMCostTotal       = "llm.cost.total"    // USD; OpenInference's name
	AttrCostStatus         = "tracegate.cost.status"
	AttrTags               = "tracegate.tags"
	AttrPromptSlug         = "tracegate.prompt.slug"
	AttrPromptVersion      = "tracegate.prompt.version"
	AttrPromptVariables    = "tracegate.prompt.variables"
	AttrPromptVariableBase = "tracegate.prompt.variable." // + name; values, only with CaptureContent
	AttrTemplateStale      = "tracegate.template.stale"
	AttrProvider           = "tracegate.provider" // the configured provider name
	AttrAttempt            = "tracegate.attempt"  // 1-based attempt number within the run
	AttrRawFinishReason    = "tracegate.response.finish_reason.raw"
)

// Values of tracegate.cost.status.
const (
	CostPriced   = "priced"
	CostUnpriced = "unpriced"
)

// Values of error.type that are not provider error types.
const (
	ErrorTypeCancelled       = "cancelled"
	ErrorTypeTimeout         = "timeout"
	ErrorTypeConnection      = "connection_error"
	ErrorTypeStreamTruncated = "stream_truncated"
	ErrorTypeMalformedReply  = "malformed_reply"
	ErrorTypeInvalidRequest  = "invalid_request"
	ErrorTypeUpstream        = "upstream_error"
)

// ProviderMock is gen_ai.provider.name for the built-in mock provider.
const ProviderMock = "tracegate.mock"

var (
	costStatusPriced   = attribute.String(AttrCostStatus, CostPriced)
	costStatusUnpriced = attribute.String(AttrCostStatus, CostUnpriced)
	templateStale      = attribute.Bool(AttrTemplateStale, true)

	providerOpenAI    = semconv.GenAIProviderNameOpenAI
	providerAnthropic = semconv.GenAIProviderNameAnthropic
	providerGemini    = semconv.GenAIProviderNameGCPGemini
	providerMock      = semconv.GenAIProviderNameKey.String(ProviderMock)
	providerAzure     = semconv.GenAIProviderNameAzureAIOpenAI
	providerBedrock   = semconv.GenAIProviderNameAWSBedrock
	providerVertex    = semconv.GenAIProviderNameGCPVertexAI

	// The normalised reasons are few: precomputed, they cost no allocation per span.
	finishStop          = semconv.GenAIResponseFinishReasonsKey.StringSlice([]string{string(llm.FinishStop)})
	finishLength        = semconv.GenAIResponseFinishReasonsKey.StringSlice([]string{string(llm.FinishLength)})
	finishToolCalls     = semconv.GenAIResponseFinishReasonsKey.StringSlice([]string{string(llm.FinishToolCalls)})
	finishContentFilter = semconv.GenAIResponseFinishReasonsKey.StringSlice([]string{string(llm.FinishContentFilter)})
)

// providerNameAttr maps a provider kind to gen_ai.provider.name. OpenAI-compatible services
// (Groq, vLLM, ...) report "openai", as the convention asks; server.address tells them apart.
// The cloud kinds have names of their own: azure.ai.openai, aws.bedrock, gcp.vertex_ai.
func providerNameAttr(kind string) attribute.KeyValue {
	switch kind {
	case "openai":
		return providerOpenAI
	case "anthropic":
		return providerAnthropic
	case "gemini":
		return providerGemini
	case "mock":
		return providerMock
	case "azure":
		return providerAzure
	case "bedrock":
		return providerBedrock
	case "vertex":
		return providerVertex
	case "":
		return semconv.GenAIProviderNameKey.String("_OTHER")
	}
	return semconv.GenAIProviderNameKey.String(kind)
}

// appendRequest adds the sampling controls of req.
func appendRequest(attrs []attribute.KeyValue, req *llm.Request) []attribute.KeyValue {
	attrs = appendSampling(attrs, req.Temperature, req.TopP, req.MaxTokens)
	if len(req.Stop) > 0 {
		attrs = append(attrs, stringSlices.kv(semconv.GenAIRequestStopSequencesKey, req.Stop))
	}
	if req.ResponseFormat.WantsJSON() {
		attrs = append(attrs, semconv.GenAIOutputTypeJSON)
	}
	return append(attrs, semconv.GenAIRequestStream(req.Stream))
}

// appendResponse adds what the provider said about its reply: id, model, finish reasons, usage.
func appendResponse(attrs []attribute.KeyValue, resp *llm.Response) []attribute.KeyValue {
	if resp.ID != "" {
		attrs = append(attrs, semconv.GenAIResponseID(resp.ID))
	}
	if resp.Model != "" {
		attrs = append(attrs, semconv.GenAIResponseModel(resp.Model))
	}
	switch resp.FinishReason {
	case llm.FinishStop:
		attrs = append(attrs, finishStop)
	case llm.FinishLength:
		attrs = append(attrs, finishLength)
	case llm.FinishToolCalls:
		attrs = append(attrs, finishToolCalls)
	case llm.FinishContentFilter:
		attrs = append(attrs, finishContentFilter)
	case "":
		if resp.RawFinishReason != "" {
			attrs = append(attrs, semconv.GenAIResponseFinishReasons(resp.RawFinishReason))
		}
	default:
		attrs = append(attrs, semconv.GenAIResponseFinishReasons(string(resp.FinishReason)))
	}
	if resp.RawFinishReason != "" && resp.RawFinishReason != string(resp.FinishReason) {
		attrs = append(attrs, attribute.String(AttrRawFinishReason, resp.RawFinishReason))
	}
	return appendUsage(attrs, resp.Usage)
}

// appendSampling adds the temperature, top_p and max tokens that were set.
func appendSampling(attrs []attribute.KeyValue, temperature, topP *float64, maxTokens int) []attribute.KeyValue {
	if temperature != nil {
		attrs = append(attrs, semconv.GenAIRequestTemperature(*temperature))
	}
	if topP != nil {
		attrs = append(attrs, semconv.GenAIRequestTopP(*topP))
	}
	if maxTokens > 0 {
		attrs = append(attrs, semconv.GenAIRequestMaxTokens(maxTokens))
	}
	return attrs
}

// appendUsage adds token counts when the provider reported them; unknown is not zero.
func appendUsage(attrs []attribute.KeyValue, u llm.Usage) []attribute.KeyValue {
	if !u.Known {
		return attrs
	}
	attrs = append(attrs,
		semconv.GenAIUsageInputTokens(int(u.InputTokens)),
		semconv.GenAIUsageOutputTokens(int(u.OutputTokens)))
	if u.CacheReadTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokens(int(u.CacheReadTokens)))
	}
	if w := u.CacheWriteTokens + u.CacheWrite1hTokens; w > 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheCreationInputTokens(int(w)))
	}
	if u.ReasoningTokens > 0 {
		attrs = append(attrs, semconv.GenAIUsageReasoningOutputTokens(int(u.ReasoningTokens)))
	}
	return attrs
}

// errorType gives error.type for an attempt's error: the provider's own error type when it
// sent one, else one value per llm.Classify kind, so the attribute stays low-cardinality.
func errorType(err error) string {
	switch llm.Classify(err) {
	case llm.FailureCancelled:
		return ErrorTypeCancelled
	case llm.FailureTimeout:
		return ErrorTypeTimeout
	case llm.FailureUpstream:
		var upstream *llm.UpstreamError
		errors.As(err, &upstream)
		switch {
		case upstream.Type != "":
			return upstream.Type
		case upstream.Code != "":
			return upstream.Code
		case upstream.Status != 0:
			return strconv.Itoa(upstream.Status)
		}
		return ErrorTypeUpstream
	case llm.FailureTruncated:
		return ErrorTypeStreamTruncated
	case llm.FailureMalformed:
		return ErrorTypeMalformedReply
	case llm.FailureInvalidRequest:
		return ErrorTypeInvalidRequest
	case llm.FailureConnection:
		return ErrorTypeConnection
	}
	return semconv.ErrorTypeOther.Value.AsString()
}
