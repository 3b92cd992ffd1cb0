package intern

import (
	"fmt"
	"sync"
	"testing"
)

func TestBytesSharesOneCopy(t *testing.T) {
	tab := New(4)
	a := tab.Bytes([]byte("gpt-4o-mini"))
	b := tab.Bytes([]byte("gpt-4o-mini"))
	if a != "gpt-4o-mini" || b != a {
		t.Fatalf("got %q and %q", a, b)
	}
	if n := testing.AllocsPerRun(100, func() { _ = tab.Bytes([]byte("gpt-4o-mini")) }); n != 0 {
		t.Fatalf("a hit allocates %v times", n)
	}
}

func TestCacheBounded(t *testing.T) {
	var c Cache[string, int]
	if _, ok := c.Get("a"); ok {
		t.Fatal("an empty cache has a value")
	}
	c.Add("a", 1, 2)
	c.Add("a", 9, 2) // kept values stay
	c.Add("b", 2, 2)
	c.Add("c", 3, 2) // past the bound
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("a = %v %v", v, ok)
	}
	if _, ok := c.Get("c"); ok || c.Len() != 2 {
		t.Fatalf("past the bound: c kept, %d held", c.Len())
	}
}

func TestBytesBounded(t *testing.T) {
	tab := New(3)
	for i := range 10 {
		if s := tab.Bytes(fmt.Appendf(nil, "model-%d", i)); s != fmt.Sprintf("model-%d", i) {
			t.Fatalf("got %q", s)
		}
	}
	if tab.Len() != 3 {
		t.Fatalf("holds %d strings, want the bound 3", tab.Len())
	}
	// Past the bound, strings are still right, only not kept.
	if s := tab.Bytes([]byte("model-9")); s != "model-9" {
		t.Fatalf("got %q", s)
	}
}

func TestBytesConcurrent(t *testing.T) {
	tab := New(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				want := fmt.Sprintf("m%d", (i+g)%50)
				if s := tab.Bytes([]byte(want)); s != want {
					t.Errorf("got %q, want %q", s, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if tab.Len() != 50 {
		t.Fatalf("holds %d strings, want 50", tab.Len())
	}
}

func BenchmarkBytesHit(b *testing.B) {
	tab := New(16)
	key := []byte("gpt-4o-mini")
	tab.Bytes(key)
	b.ReportAllocs()
	for b.Loop() {
		_ = tab.Bytes(key)
	}
}
