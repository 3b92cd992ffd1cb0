package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type event struct{ name, data string }

func readAll(t *testing.T, r io.Reader) ([]event, error) {
	t.Helper()
	rd := NewReader(r)
	var out []event
	for {
		ev, err := rd.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, event{string(ev.Name), string(ev.Data)})
	}
}

func TestFraming(t *testing.T) {
	in := ": comment\n\nevent: ping\ndata: {}\n\ndata: a\ndata: b\n\ndata:nospace\n\nid: 7\nretry: 10\n\nevent: x\n\ndata: last"
	want := []event{{"ping", "{}"}, {"", "a\nb"}, {"", "nospace"}, {"", "last"}}
	for name, r := range map[string]io.Reader{
		"whole":    strings.NewReader(in),
		"crlf":     strings.NewReader(strings.ReplaceAll(in, "\n", "\r\n")),
		"one byte": iotest.OneByteReader(strings.NewReader(in)),
	} {
		got, err := readAll(t, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %v", name, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: event %d = %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
}

func TestEventNameDoesNotLeakIntoNextEvent(t *testing.T) {
	got, _ := readAll(t, strings.NewReader("event: a\ndata: 1\n\ndata: 2\n\n"))
	if len(got) != 2 || got[1].name != "" {
		t.Fatalf("got %v", got)
	}
}

func TestStreamEndingInsideAnEventWithoutData(t *testing.T) {
	_, err := readAll(t, strings.NewReader("data: 1\n\nevent: x\n"))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("want ErrUnexpectedEOF, got %v", err)
	}
}

func TestLineTooLong(t *testing.T) {
	_, err := readAll(t, io.MultiReader(strings.NewReader("data: "), strings.NewReader(strings.Repeat("x", MaxLineBytes+10))))
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("want ErrLineTooLong, got %v", err)
	}
}

func TestReadErrorIsReturned(t *testing.T) {
	boom := errors.New("boom")
	_, err := readAll(t, io.MultiReader(strings.NewReader("data: 1\n\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("data: x\n\n")
	f.Add("event: e\r\ndata: 1\r\ndata: 2\r\n\r\n:c\n")
	f.Fuzz(func(t *testing.T, in string) {
		rd := NewReader(strings.NewReader(in))
		for i := 0; i <= len(in); i++ {
			ev, err := rd.Next()
			if err != nil {
				return
			}
			if strings.Contains(string(ev.Name), "\n") {
				t.Fatalf("event name with a newline: %q", ev.Name)
			}
		}
		t.Fatalf("more events than input bytes for %q", in)
	})
}

func BenchmarkReader(b *testing.B) {
	chunk := `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}` + "\n\n"
	in := strings.Repeat(chunk, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		rd := NewReader(strings.NewReader(in))
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
		rd.Release()
	}
}

func TestHasBufferedEvent(t *testing.T) {
	rd := NewReader(strings.NewReader("data: 1\n\ndata: 2\n\ndata: 3"))
	defer rd.Release()
	if rd.HasBufferedEvent() {
		t.Fatal("nothing read yet, nothing buffered")
	}
	rd.Next()
	if !rd.HasBufferedEvent() {
		t.Error("event 2 is buffered")
	}
	rd.Next()
	if rd.HasBufferedEvent() {
		t.Error("event 3 has no blank line yet")
	}
}

// An event built of many short data lines is bounded as a whole, not line by line.
func TestEventOverMaxEventBytes(t *testing.T) {
	line := "data: " + strings.Repeat("x", 1<<20) + "\n"
	r := NewReader(strings.NewReader(strings.Repeat(line, MaxEventBytes>>20+1) + "\n"))
	if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("err = %v, want ErrEventTooLarge", err)
	}
}
