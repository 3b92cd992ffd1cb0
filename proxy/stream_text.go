package proxy

// replyText assembles a translated stream's reply text (or one reasoning block's) for the
// spans, and only when they capture content: nothing else reads it. It appends to a byte
// slice, which grows amortised, where += on a string copies all the text so far on every
// delta (32k deltas: gigabytes).
type replyText struct {
	keep bool
	b    []byte
}

func (t *replyText) add(s string) {
	if t.keep {
		t.b = append(t.b, s...)
	}
}

// take returns the text so far and starts over, keeping the buffer.
func (t *replyText) take() string {
	s := string(t.b)
	t.b = t.b[:0]
	return s
}
