package spans

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/trace"
)

// Wire prefixes of DESIGN.md section 3.
const (
	TraceIDPrefix = "tr_"
	SpanIDPrefix  = "sp_"
)

const (
	traceparentLen     = 55 // 00-<32 hex>-<16 hex>-<2 hex>
	shortTraceIDHexLen = 16
	fullTraceIDHexLen  = 32
	spanIDHexLen       = 16
	maxQuotedInput     = 64
)

// ParseTraceID parses a caller's traceId: tr_ + 16 hex (a 64-bit id, high 8 bytes zero),
// tr_ + 32 hex, or bare 32 hex, all lowercase. Anything else, and the all-zero id, is an error
// wrapping llm.ErrInvalidRequest.
func ParseTraceID(s string) (trace.TraceID, error) {
	var id trace.TraceID
	ok := false
	switch {
	case len(s) == len(TraceIDPrefix)+shortTraceIDHexLen && strings.HasPrefix(s, TraceIDPrefix):
		ok = decodeLowerHex(id[8:], s[len(TraceIDPrefix):])
	case len(s) == len(TraceIDPrefix)+fullTraceIDHexLen && strings.HasPrefix(s, TraceIDPrefix):
		ok = decodeLowerHex(id[:], s[len(TraceIDPrefix):])
	case len(s) == fullTraceIDHexLen:
		ok = decodeLowerHex(id[:], s)
	}
	if !ok {
		return trace.TraceID{}, fmt.Errorf("%w: traceId %s must be tr_ followed by 16 or 32 lowercase hex digits, or 32 lowercase hex digits",
			llm.ErrInvalidRequest, quoteInput(s))
	}
	if !id.IsValid() {
		return trace.TraceID{}, fmt.Errorf("%w: traceId %s is all zeros", llm.ErrInvalidRequest, quoteInput(s))
	}
	return id, nil
}

// ParseSpanID parses a caller's parentSpanId: sp_ + 16 hex or bare 16 hex, lowercase. Anything
// else, and the all-zero id, is an error wrapping llm.ErrInvalidRequest.
func ParseSpanID(s string) (trace.SpanID, error) {
	var id trace.SpanID
	ok := false
	switch {
	case len(s) == len(SpanIDPrefix)+spanIDHexLen && strings.HasPrefix(s, SpanIDPrefix):
		ok = decodeLowerHex(id[:], s[len(SpanIDPrefix):])
	case len(s) == spanIDHexLen:
		ok = decodeLowerHex(id[:], s)
	}
	if !ok {
		return trace.SpanID{}, fmt.Errorf("%w: parentSpanId %s must be sp_ followed by 16 lowercase hex digits, or 16 lowercase hex digits",
			llm.ErrInvalidRequest, quoteInput(s))
	}
	if !id.IsValid() {
		return trace.SpanID{}, fmt.Errorf("%w: parentSpanId %s is all zeros", llm.ErrInvalidRequest, quoteInput(s))
	}
	return id, nil
}

// FormatTraceID gives the wire form: tr_ + 16 hex when the high 8 bytes are zero, else tr_ + 32 hex.
func FormatTraceID(id trace.TraceID) string {
	var buf [len(TraceIDPrefix) + fullTraceIDHexLen]byte
	return string(appendTraceID(buf[:0], id))
}

func appendTraceID(dst []byte, id trace.TraceID) []byte {
	dst = append(dst, TraceIDPrefix...)
	if isShortTraceID(id) {
		return hex.AppendEncode(dst, id[8:])
	}
	return hex.AppendEncode(dst, id[:])
}

// FormatSpanID gives the wire form sp_ + 16 lowercase hex.
func FormatSpanID(id trace.SpanID) string {
	var buf [len(SpanIDPrefix) + spanIDHexLen]byte
	return string(appendSpanID(buf[:0], id))
}

func appendSpanID(dst []byte, id trace.SpanID) []byte {
	return hex.AppendEncode(append(dst, SpanIDPrefix...), id[:])
}

// ParseTraceparent parses a W3C traceparent header value into a remote span context. Only the
// sampled flag is kept, as the OTel propagator does. Surrounding spaces and tabs are ignored;
// versions above 00 are read by their 00 prefix, as the specification asks.
func ParseTraceparent(h string) (trace.SpanContext, error) {
	h = strings.Trim(h, " \t")
	if len(h) < traceparentLen {
		return trace.SpanContext{}, traceparentError(h, "too short")
	}
	var version, flags [1]byte
	if !decodeLowerHex(version[:], h[0:2]) || version[0] == 0xff {
		return trace.SpanContext{}, traceparentError(h, "bad version")
	}
	if version[0] == 0 && len(h) != traceparentLen {
		return trace.SpanContext{}, traceparentError(h, "wrong length for version 00")
	}
	if len(h) > traceparentLen && h[traceparentLen] != '-' {
		return trace.SpanContext{}, traceparentError(h, "bad field separator")
	}
	if h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return trace.SpanContext{}, traceparentError(h, "bad field separator")
	}
	var tid trace.TraceID
	var sid trace.SpanID
	if !decodeLowerHex(tid[:], h[3:35]) || !tid.IsValid() {
		return trace.SpanContext{}, traceparentError(h, "bad trace id")
	}
	if !decodeLowerHex(sid[:], h[36:52]) || !sid.IsValid() {
		return trace.SpanContext{}, traceparentError(h, "bad parent id")
	}
	if !decodeLowerHex(flags[:], h[53:55]) {
		return trace.SpanContext{}, traceparentError(h, "bad flags")
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     sid,
		TraceFlags: trace.TraceFlags(flags[0]) & trace.FlagsSampled,
		Remote:     true,
	}), nil
}

// FormatTraceparent gives the W3C traceparent header value (version 00) for sc.
func FormatTraceparent(sc trace.SpanContext) string {
	var buf [traceparentLen]byte
	return string(appendTraceparent(buf[:0], sc))
}

func appendTraceparent(dst []byte, sc trace.SpanContext) []byte {
	tid, sid, flags := sc.TraceID(), sc.SpanID(), [1]byte{byte(sc.TraceFlags())}
	dst = append(dst, "00-"...)
	dst = append(hex.AppendEncode(dst, tid[:]), '-')
	dst = append(hex.AppendEncode(dst, sid[:]), '-')
	return hex.AppendEncode(dst, flags[:])
}

func isShortTraceID(id trace.TraceID) bool {
	return id[0]|id[1]|id[2]|id[3]|id[4]|id[5]|id[6]|id[7] == 0
}

// decodeLowerHex fills dst from exactly 2*len(dst) lowercase hex digits.
func decodeLowerHex(dst []byte, src string) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := lowerHexValue(src[2*i])
		lo, ok2 := lowerHexValue(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func traceparentError(h, reason string) error {
	return fmt.Errorf("%w: traceparent %s: %s", llm.ErrInvalidRequest, quoteInput(h), reason)
}

// quoteInput quotes caller input for an error message, cut short so a hostile value cannot
// balloon the reply.
func quoteInput(s string) string {
	if len(s) > maxQuotedInput {
		return strconv.Quote(s[:maxQuotedInput]) + "..."
	}
	return strconv.Quote(s)
}
