package spans

import (
	"slices"

	"github.com/tracegate/tracegate/internal/intern"
	"go.opentelemetry.io/otel/attribute"
)

// stringSlices caches the string-slice attributes a run records again and again: a prompt's
// variable names, a caller's tags, stop sequences. attribute.StringSlice copies its input
// into a new array by reflection, one allocation per attribute per run otherwise.
var stringSlices sliceCache

// Only short slices of short strings are cached: the key holds them by value, and caller input
// must not pin much memory.
const (
	maxCachedSliceLen     = 4
	maxCachedSliceElement = 128
	maxCachedSliceValues  = 256
)

type sliceKey struct {
	key attribute.Key
	n   int
	s   [maxCachedSliceLen]string
}

type sliceCache struct {
	c intern.Cache[sliceKey, attribute.KeyValue]
}

// kv is key.StringSlice(boundedStrings(ss)). It never keeps ss itself, so a caller may pass a
// slice of a stack buffer.
func (c *sliceCache) kv(key attribute.Key, ss []string) attribute.KeyValue {
	k, cacheable := sliceKeyOf(key, ss)
	if !cacheable {
		return key.StringSlice(boundedStrings(slices.Clone(ss)))
	}
	if kv, ok := c.c.Get(k); ok {
		return kv
	}
	kv := key.StringSlice(slices.Clone(ss)) // short elements need no bounding
	c.c.Add(k, kv, maxCachedSliceValues)
	return kv
}

func sliceKeyOf(key attribute.Key, ss []string) (sliceKey, bool) {
	if len(ss) > maxCachedSliceLen {
		return sliceKey{}, false
	}
	k := sliceKey{key: key, n: len(ss)}
	for i, s := range ss {
		if len(s) > maxCachedSliceElement {
			return sliceKey{}, false
		}
		k.s[i] = s
	}
	return k, true
}
