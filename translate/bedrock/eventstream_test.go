package bedrock

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// frame encodes one message with the AWS SDK's encoder, the reference for the format.
func frame(t testing.TB, payload string, headers ...eventstream.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, eventstream.Message{Headers: headers, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func str(name, value string) eventstream.Header {
	return eventstream.Header{Name: name, Value: eventstream.StringValue(value)}
}

func TestFrameReaderReadsEveryHeaderType(t *testing.T) {
	raw := frame(t, `{"role":"assistant"}`,
		str(":event-type", "messageStart"),
		eventstream.Header{Name: "b", Value: eventstream.BoolValue(true)},
		eventstream.Header{Name: "n", Value: eventstream.Int64Value(-7)},
		eventstream.Header{Name: "bytes", Value: eventstream.BytesValue([]byte{1, 2, 3})},
		eventstream.Header{Name: "u", Value: eventstream.UUIDValue{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		str(":message-type", "event"))
	fr := NewFrameReader(bytes.NewReader(append(raw, raw...)), 0)
	for i := range 2 {
		f, err := fr.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Header(":event-type") != "messageStart" || f.Header(":message-type") != "event" || string(f.Payload) != `{"role":"assistant"}` {
			t.Errorf("frame %d: %+v", i, f)
		}
		if len(f.Headers) != 6 || !bytes.Equal(f.Headers[3].Value, []byte{1, 2, 3}) || len(f.Headers[4].Value) != 16 {
			t.Errorf("headers %+v", f.Headers)
		}
	}
	if _, err := fr.Next(); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameReaderRejectsBadFrames(t *testing.T) {
	good := frame(t, `{"x":1}`, str(":event-type", "metadata"))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	huge := make([]byte, 12)
	binary.BigEndian.PutUint32(huge[0:], 1<<30)
	binary.BigEndian.PutUint32(huge[8:], crc32.ChecksumIEEE(huge[:8]))
	short := make([]byte, 12)
	binary.BigEndian.PutUint32(short[0:], 8)
	binary.BigEndian.PutUint32(short[8:], crc32.ChecksumIEEE(short[:8]))
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"prelude crc":  {flip(1), ErrFrameCRC},
		"payload crc":  {flip(len(good) - 6), ErrFrameCRC},
		"message crc":  {flip(len(good) - 1), ErrFrameCRC},
		"too large":    {huge, ErrFrameTooLarge},
		"too short":    {short, ErrFrameMalformed},
		"cut in frame": {good[:len(good)-3], io.ErrUnexpectedEOF},
		"cut prelude":  {good[:5], io.ErrUnexpectedEOF},
	} {
		_, err := NewFrameReader(bytes.NewReader(tc.in), 0).Next()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := NewFrameReader(bytes.NewReader(good), 20).Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("frame over a small limit: %v", err)
	}
}

// FuzzFrameReader feeds arbitrary bytes: the reader must never panic, never return a frame
// over its limit, and every frame it accepts must re-encode to the same bytes.
func FuzzFrameReader(f *testing.F) {
	f.Add(frame(f, `{"contentBlockIndex":0,"delta":{"text":"hi"}}`, str(":event-type", "contentBlockDelta"), str(":message-type", "event")))
	f.Add(frame(f, "", eventstream.Header{Name: "t", Value: eventstream.TimestampValue{}}))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 4096
		fr := NewFrameReader(bytes.NewReader(data), limit)
		for {
			fm, err := fr.Next()
			if err != nil {
				return
			}
			if len(fm.Payload) > limit {
				t.Fatalf("payload of %d bytes over the %d limit", len(fm.Payload), limit)
			}
		}
	})
}

// FuzzStreamDecoder runs the ConverseStream decoder over arbitrary frames.
func FuzzStreamDecoder(f *testing.F) {
	f.Add(frame(f, `{"stopReason":"end_turn"}`, str(":event-type", "messageStop"), str(":message-type", "event")))
	f.Add(frame(f, `{"message":"slow"}`, str(":exception-type", "throttlingException"), str(":message-type", "exception")))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewStreamDecoder(bytes.NewReader(data))
		for range 10000 {
			if _, err := d.Next(); err != nil {
				return
			}
		}
		t.Fatal("decoder did not end")
	})
}

// FuzzDecodeResponse runs the Converse reply and error decoders over arbitrary bodies: no
// panic, and a decoded reply's tool arguments are always JSON objects.
func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"output":{"message":{"role":"assistant","content":[{"text":"hi"},{"toolUse":{"toolUseId":"t","name":"f","input":{"a":1}}}]}},"stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}`))
	f.Add([]byte(`{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		DecodeError("bedrock", 400, body, nil)
		resp, err := DecodeResponse(body)
		if err != nil {
			return
		}
		for _, c := range resp.ToolCalls {
			if len(c.Arguments) == 0 || c.Arguments[0] != '{' {
				t.Fatalf("arguments %q", c.Arguments)
			}
		}
	})
}
