package anthropic

import (
	"errors"
	"io"

	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate"
)

// STUB: replaced by the real implementation.

var errTODO = errors.New("anthropic: not implemented")

// EncodeRequest appends the provider wire body for req to dst.
func EncodeRequest(dst []byte, req *llm.Request) ([]byte, error) { return dst, errTODO }

// DecodeResponse decodes a complete (non-streaming) reply body.
func DecodeResponse(body []byte) (*llm.Response, error) { return nil, errTODO }

// DecodeError decodes an error reply into an UpstreamError for the named provider.
func DecodeError(provider string, status int, body []byte, header translate.HeaderGetter) *llm.UpstreamError {
	return &llm.UpstreamError{Provider: provider, Status: status, Message: string(body)}
}

// StreamDecoder turns a streamed reply into canonical events.
type StreamDecoder struct{ r io.Reader }

// NewStreamDecoder reads the stream from r.
func NewStreamDecoder(r io.Reader) *StreamDecoder { return &StreamDecoder{r: r} }

// Next returns the next event; io.EOF after the terminal event.
func (d *StreamDecoder) Next() (llm.StreamEvent, error) { return llm.StreamEvent{}, errTODO }
