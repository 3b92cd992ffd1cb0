package main

import "testing"

const sampleStream = "data: {\"a\":1}\n\n" +
	": a comment\n\n" +
	"event: message\r\ndata: {\"b\":\"a very long line that does not fit the counter's head buffer\"}\r\n\r\n" +
	"data: [DONE]\n\n"

func TestSSECounterCountsEventsAndDoneWhateverTheSplit(t *testing.T) {
	for cut := 0; cut <= len(sampleStream); cut++ {
		for cut2 := cut; cut2 <= len(sampleStream); cut2 += 7 {
			var c sseCounter
			c.feed([]byte(sampleStream[:cut]))
			c.feed([]byte(sampleStream[cut:cut2]))
			c.feed([]byte(sampleStream[cut2:]))
			c.finish()
			if c.events != 2 || !c.done {
				t.Fatalf("split at %d,%d: events %d done %v, want 2 and true", cut, cut2, c.events, c.done)
			}
		}
	}
}

func TestSSECounterByteByByte(t *testing.T) {
	var c sseCounter
	for i := range len(sampleStream) {
		c.feed([]byte{sampleStream[i]})
	}
	if c.events != 2 || !c.done {
		t.Fatalf("events %d done %v", c.events, c.done)
	}
}

func TestSSECounterDoneNeedsTheExactLine(t *testing.T) {
	for _, stream := range []string{
		"data: [DONE] and more\n\n",
		"data: {\"text\":\"[DONE]\"}\n\n",
	} {
		var c sseCounter
		c.feed([]byte(stream))
		c.finish()
		if c.done || c.events != 1 {
			t.Errorf("%q: done %v events %d, want a plain event", stream, c.done, c.events)
		}
	}
	var c sseCounter
	c.feed([]byte("data: {}\n\ndata: [DONE]")) // no final newline
	c.finish()
	if !c.done || c.events != 1 {
		t.Errorf("unterminated [DONE]: done %v events %d", c.done, c.events)
	}
}
