package sse

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/tracegate/tracegate/llm"
)

// MaxLineBytes bounds one SSE line; a longer line is an error, not an unbounded allocation.
const MaxLineBytes = 4 << 20

// MaxEventBytes bounds the data of one event, its lines joined: an upstream that never sends
// the blank line ending an event cannot grow it without limit.
const MaxEventBytes = 8 << 20

// ErrLineTooLong is returned when a line exceeds MaxLineBytes; it is an
// llm.ErrMalformedReply.
var ErrLineTooLong = fmt.Errorf("sse: line too long: %w", llm.ErrMalformedReply)

// ErrEventTooLarge is returned when an event's data exceeds MaxEventBytes; it is an
// llm.ErrMalformedReply.
var ErrEventTooLarge = fmt.Errorf("sse: event too large: %w", llm.ErrMalformedReply)

// Event is one dispatched SSE event. Its slices are valid only until the next call to Next.
type Event struct {
	Name []byte // the "event:" field; empty when absent
	Data []byte // "data:" lines joined with '\n'
}

// Reader decodes events from a stream. It is not safe for concurrent use.
type Reader struct {
	br   *bufio.Reader
	line []byte
	name []byte
	data []byte
}

// bufferSize is the read buffer of one stream; lines longer than it are assembled in line.
const bufferSize = 16 << 10

// readers recycles Readers with their buffers: every stream needs one, and 16 KB per stream
// is most of a stream's allocation otherwise.
var readers = sync.Pool{New: func() any { return &Reader{br: bufio.NewReaderSize(nil, bufferSize)} }}

// NewReader returns a Reader over r. Call Release when done with it to recycle its buffer.
func NewReader(r io.Reader) *Reader {
	rd := readers.Get().(*Reader)
	rd.br.Reset(r)
	return rd
}

// Release returns the Reader to the pool; it must not be used afterwards. Readers that grew
// an oversized line or data buffer are dropped instead, so the pool holds small ones only.
func (r *Reader) Release() {
	if cap(r.line) > bufferSize || cap(r.data) > bufferSize {
		return
	}
	r.br.Reset(nil)
	r.line, r.name, r.data = r.line[:0], r.name[:0], r.data[:0]
	readers.Put(r)
}

// Next returns the next event that has data. It returns io.EOF when the stream ends cleanly
// between events, and io.ErrUnexpectedEOF when it ends inside an event; an event still being
// built when the stream closes without a blank line is dispatched first.
func (r *Reader) Next() (Event, error) {
	r.name = r.name[:0]
	r.data = r.data[:0]
	hasData, inEvent := false, false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF {
				if hasData {
					return Event{Name: r.name, Data: r.data}, nil
				}
				if inEvent {
					return Event{}, io.ErrUnexpectedEOF
				}
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData {
				return Event{Name: r.name, Data: r.data}, nil
			}
			r.name = r.name[:0]
			inEvent = false
			continue
		}
		if line[0] == ':' {
			continue // comment / keep-alive
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		inEvent = true
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			if len(r.data)+len(value) > MaxEventBytes {
				return Event{}, fmt.Errorf("read event: %w (limit %d bytes)", ErrEventTooLarge, MaxEventBytes)
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			r.name = append(r.name[:0], value...)
		}
	}
}

// HasBufferedEvent reports whether a whole event (through its blank line) is already
// buffered, so that Next returns it without waiting on the stream. A relay uses it to send
// events that arrived together in one write.
func (r *Reader) HasBufferedEvent() bool {
	n := r.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := r.br.Peek(n) // never blocks: n bytes are buffered
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))
}

// readLine returns one line without its terminator (LF or CRLF).
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.line = append(r.line, chunk...)
		if len(r.line) > MaxLineBytes {
			return nil, fmt.Errorf("read event: %w (limit %d bytes)", ErrLineTooLong, MaxLineBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(r.line) > 0 {
				return trimEOL(r.line), nil
			}
			return nil, err
		}
		return trimEOL(r.line), nil
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
