package store

import (
	"context"
	"slices"
	"testing"
)

func TestMemorySuite(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) suiteStore { return NewMemory(0) })
}

func TestMemoryKeepsTheNewest(t *testing.T) {
	m := NewMemory(5)
	for i := range 12 {
		put(t, m, record(i))
	}
	// An older record than every kept one is evicted at once.
	put(t, m, record(-1))
	if m.Len() != 5 {
		t.Fatalf("%d records held, want 5", m.Len())
	}
	want := []string{spanID(11), spanID(10), spanID(9), spanID(8), spanID(7)}
	if got := listAll(t, m, Filter{}, 2); !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if _, err := m.Get(context.Background(), spanID(3)); err == nil {
		t.Error("an evicted record is still found")
	}
	// Replacing a kept record does not evict another.
	put(t, m, record(9))
	if got := listAll(t, m, Filter{}, 10); !slices.Equal(got, want) {
		t.Errorf("after replace %v", got)
	}
}
