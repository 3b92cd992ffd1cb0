package spans

import (
	"slices"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Span attributes carry what callers send (variables, tags, captured messages), so their
// sizes are bounded where spans are recorded (the SDK for ingested and evaluation spans,
// recordedSpan.finish and boundedStrings for runs and attempts): a string value is cut at
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

// cutString cuts s at MaxAttributeValueBytes, back to the start of a UTF-8 character.
func cutString(s string) string { return cutUTF8(s, MaxAttributeValueBytes) }

// cutUTF8 cuts s to at most n bytes, back to the start of a UTF-8 character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// boundedValue is kv with a string value cut at MaxAttributeValueBytes; other values are
// returned as they are (string slices are bounded when they are made: boundedStrings).
func boundedValue(kv attribute.KeyValue) attribute.KeyValue {
	if kv.Value.Type() == attribute.STRING {
		if s := kv.Value.AsString(); len(s) > MaxAttributeValueBytes {
			return kv.Key.String(cutString(s))
		}
	}
	return kv
}

// boundedStrings is ss with each element cut at MaxAttributeValueBytes; ss itself, not a
// copy, when none is too long.
func boundedStrings(ss []string) []string {
	for i, s := range ss {
		if len(s) > MaxAttributeValueBytes {
			out := slices.Clone(ss)
			for j := i; j < len(out); j++ {
				out[j] = cutString(out[j])
			}
			return out
		}
	}
	return ss
}
