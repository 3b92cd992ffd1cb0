package openai

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// appendKey appends `"key":`, preceded by a comma unless it opens the object, so that the
// encoder can leave out optional fields without tracking whether one was written. Keys are
// constant ASCII identifiers, so they need no escaping.
func appendKey(dst []byte, key string) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' && dst[n-1] != '[' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// errArgumentsNotObject reports tool-call arguments that are not a JSON object.
var errArgumentsNotObject = errors.New("arguments are not a JSON object")

// appendRawObject appends raw, a JSON object supplied by the caller, or "{}" when it is empty.
// ok is false when raw is not a JSON object; the caller names the field in its error.
func appendRawObject(dst []byte, raw []byte) (out []byte, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return append(dst, '{', '}'), true
	}
	if !jsonw.IsObject(raw) {
		return dst, false
	}
	return append(dst, raw...), true
}

// invalidf builds an error caused by the caller's input.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("openai: %s: %w", fmt.Sprintf(format, args...), llm.ErrInvalidRequest)
}
