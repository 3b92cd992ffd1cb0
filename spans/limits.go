package spans

import sdktrace "go.opentelemetry.io/otel/sdk/trace"

// Span attributes carry what callers send (variables, tags, captured messages), so their
// sizes are bounded where the SDK records them: a string value is cut at
// MaxAttributeValueBytes and attributes past MaxAttributesPerSpan are dropped (the SDK
// counts the dropped ones on the span). 128 KiB keeps a long captured conversation readable
// while one span stays far below the 4 MiB that OTLP collectors accept per request.
const (
	MaxAttributeValueBytes = 128 << 10
	MaxAttributesPerSpan   = 128
	maxEventsPerSpan       = 128
	maxLinksPerSpan        = 32
)

var spanLimits = sdktrace.SpanLimits{
	AttributeValueLengthLimit:   MaxAttributeValueBytes,
	AttributeCountLimit:         MaxAttributesPerSpan,
	EventCountLimit:             maxEventsPerSpan,
	LinkCountLimit:              maxLinksPerSpan,
	AttributePerEventCountLimit: MaxAttributesPerSpan,
	AttributePerLinkCountLimit:  MaxAttributesPerSpan,
}
