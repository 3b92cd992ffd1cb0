package main

import "bytes"

var (
	ssePrefixData = []byte("data:")
	sseDone       = []byte("data: [DONE]")
)

// sseCounter counts SSE data events in a byte stream fed in arbitrary pieces, as reads from a
// socket split lines anywhere. It keeps only the head of the current line, enough to tell a
// data line and the [DONE] sentinel, so memory stays constant whatever the stream's size.
type sseCounter struct {
	head    [16]byte
	headLen int
	lineLen int
	events  int // data events other than [DONE]
	done    bool
}

func (c *sseCounter) feed(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.appendHead(p)
			return
		}
		c.appendHead(p[:i])
		c.endLine()
		p = p[i+1:]
	}
}

func (c *sseCounter) appendHead(p []byte) {
	c.lineLen += len(p)
	c.headLen += copy(c.head[c.headLen:], p)
}

func (c *sseCounter) endLine() {
	line := c.head[:c.headLen]
	full := c.lineLen == c.headLen
	line = bytes.TrimSuffix(line, []byte("\r"))
	switch {
	case full && (bytes.Equal(line, sseDone) || bytes.Equal(line, []byte("data:[DONE]"))):
		c.done = true
	case bytes.HasPrefix(line, ssePrefixData):
		c.events++
	}
	c.headLen, c.lineLen = 0, 0
}

// finish accounts for a last line the server did not end with a newline.
func (c *sseCounter) finish() {
	if c.lineLen > 0 {
		c.endLine()
	}
}

func (c *sseCounter) reset() { *c = sseCounter{} }
