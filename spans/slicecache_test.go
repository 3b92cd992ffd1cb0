package spans

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestSliceCacheGivesStringSlices(t *testing.T) {
	var c sliceCache
	long := strings.Repeat("x", MaxAttributeValueBytes+10)
	for _, ss := range [][]string{nil, {"a"}, {"a", "b"}, {"a", "b", "c", "d", "e"}, {long}, {"a", long}} {
		in := slices.Clone(ss)
		kv := c.kv("k", in)
		again := c.kv("k", in)
		if len(in) > 0 {
			in[0] = "changed" // the cache must not keep the caller's slice
		}
		want := attribute.StringSlice("k", boundedStrings(ss))
		for _, got := range []attribute.KeyValue{kv, again} {
			if got.Key != want.Key || !slices.Equal(got.Value.AsStringSlice(), want.Value.AsStringSlice()) {
				t.Fatalf("kv(%d strings) = %v, want %v", len(ss), got.Value.AsStringSlice(), want.Value.AsStringSlice())
			}
		}
		if c.kv("other", ss).Key != "other" {
			t.Fatal("the key is part of the cache key")
		}
	}
	for i := range maxCachedSliceValues + 10 {
		s := fmt.Sprint(i)
		if got := c.kv("k", []string{s}).Value.AsStringSlice(); len(got) != 1 || got[0] != s {
			t.Fatalf("%v", got)
		}
	}
	if n := c.c.Len(); n != maxCachedSliceValues {
		t.Errorf("%d cached values, want the bound %d", n, maxCachedSliceValues)
	}
	names := []string{"a", "b"}
	c2 := sliceCache{}
	_ = c2.kv("k", names)
	if n := testing.AllocsPerRun(100, func() { _ = c2.kv("k", names) }); n != 0 {
		t.Errorf("%v allocations for a cached value", n)
	}
}
