package bedrock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The event-stream framing (application/vnd.amazon.eventstream), per frame:
//
//	total length uint32 | headers length uint32 | prelude CRC32 uint32 |
//	headers | payload | message CRC32 uint32
//
// big-endian, CRC32 IEEE; the prelude CRC covers the first 8 bytes, the message CRC
// everything before it. A header is name length uint8, name, value type uint8, value.

const (
	preludeLen = 12
	crcLen     = 4
	minFrame   = preludeLen + crcLen
	// MaxFrameSize bounds one frame by default: Converse events are small JSON objects (a
	// text or tool-input delta), so a larger frame is a broken or hostile stream.
	MaxFrameSize = 1 << 20
	// maxHeadersLen is the protocol's own limit on the headers section.
	maxHeadersLen = 128 << 10
)

// Errors of malformed frames; each FrameReader error wraps one of them or an io error.
var (
	ErrFrameCRC       = errors.New("event-stream frame CRC mismatch")
	ErrFrameTooLarge  = errors.New("event-stream frame too large")
	ErrFrameMalformed = errors.New("malformed event-stream frame")
)

// Header is one frame header. Value holds string and byte-array values; other types are
// decoded as their bytes (big-endian), which no Converse header uses.
type Header struct {
	Name  []byte
	Type  byte
	Value []byte
}

// Frame is one decoded frame. Its slices are valid until the next call to Next.
type Frame struct {
	Headers []Header
	Payload []byte
}

// Header returns the value of the named string header, or "".
func (f *Frame) Header(name string) string { return string(f.HeaderValue(name)) }

// HeaderValue is Header without the copy: valid until the next call to Next.
func (f *Frame) HeaderValue(name string) []byte {
	for i := range f.Headers {
		if string(f.Headers[i].Name) == name {
			return f.Headers[i].Value
		}
	}
	return nil
}

// FrameReader reads event-stream frames from r, one at a time, reusing one buffer.
type FrameReader struct {
	r       io.Reader
	max     int
	buf     []byte
	headers []Header
}

// NewFrameReader reads frames of at most maxFrame bytes (MaxFrameSize when maxFrame <= 0).
func NewFrameReader(r io.Reader, maxFrame int) *FrameReader {
	if maxFrame <= 0 {
		maxFrame = MaxFrameSize
	}
	return &FrameReader{r: r, max: maxFrame}
}

// Next returns the next frame; io.EOF at a clean end between frames, io.ErrUnexpectedEOF
// when the stream stops inside one.
func (fr *FrameReader) Next() (Frame, error) {
	var prelude [preludeLen]byte
	if _, err := io.ReadFull(fr.r, prelude[:]); err != nil {
		return Frame{}, err
	}
	total := binary.BigEndian.Uint32(prelude[0:4])
	hlen := binary.BigEndian.Uint32(prelude[4:8])
	if crc32.ChecksumIEEE(prelude[:8]) != binary.BigEndian.Uint32(prelude[8:12]) {
		return Frame{}, fmt.Errorf("prelude: %w", ErrFrameCRC)
	}
	if uint64(total) > uint64(fr.max) {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, total, fr.max)
	}
	if total < minFrame || hlen > maxHeadersLen || uint64(hlen) > uint64(total-minFrame) {
		return Frame{}, fmt.Errorf("%w: length %d, headers %d", ErrFrameMalformed, total, hlen)
	}
	n := int(total)
	if cap(fr.buf) < n {
		fr.buf = make([]byte, n)
	}
	buf := fr.buf[:n]
	copy(buf, prelude[:])
	if _, err := io.ReadFull(fr.r, buf[preludeLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	if crc32.ChecksumIEEE(buf[:n-crcLen]) != binary.BigEndian.Uint32(buf[n-crcLen:]) {
		return Frame{}, fmt.Errorf("message: %w", ErrFrameCRC)
	}
	headers, err := parseHeaders(fr.headers[:0], buf[preludeLen:preludeLen+int(hlen)])
	fr.headers = headers
	if err != nil {
		return Frame{}, err
	}
	return Frame{Headers: headers, Payload: buf[preludeLen+int(hlen) : n-crcLen]}, nil
}

// Header value types.
const (
	typeTrue      = 0
	typeFalse     = 1
	typeByte      = 2
	typeShort     = 3
	typeInt       = 4
	typeLong      = 5
	typeBytes     = 6
	typeString    = 7
	typeTimestamp = 8
	typeUUID      = 9
)

var fixedSize = [...]int{typeTrue: 0, typeFalse: 0, typeByte: 1, typeShort: 2, typeInt: 4, typeLong: 8, typeTimestamp: 8, typeUUID: 16}

func parseHeaders(dst []Header, b []byte) ([]Header, error) {
	for len(b) > 0 {
		nameLen := int(b[0])
		if nameLen == 0 || len(b) < 1+nameLen+1 {
			return dst, fmt.Errorf("%w: header name", ErrFrameMalformed)
		}
		name := b[1 : 1+nameLen]
		typ := b[1+nameLen]
		b = b[2+nameLen:]
		var size int
		switch typ {
		case typeBytes, typeString:
			if len(b) < 2 {
				return dst, fmt.Errorf("%w: header %q value length", ErrFrameMalformed, name)
			}
			size = int(binary.BigEndian.Uint16(b))
			b = b[2:]
		case typeTrue, typeFalse, typeByte, typeShort, typeInt, typeLong, typeTimestamp, typeUUID:
			size = fixedSize[typ]
		default:
			return dst, fmt.Errorf("%w: header %q has unknown type %d", ErrFrameMalformed, name, typ)
		}
		if len(b) < size {
			return dst, fmt.Errorf("%w: header %q value", ErrFrameMalformed, name)
		}
		dst = append(dst, Header{Name: name, Type: typ, Value: b[:size]})
		b = b[size:]
	}
	return dst, nil
}
