package spans

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
)

// The SDK copies every attribute list it is given, so the lists built per span are pooled
// rather than left to the garbage collector.
var attrPool = sync.Pool{New: func() any {
	s := make([]attribute.KeyValue, 0, 32)
	return &s
}}

func getAttrs() *[]attribute.KeyValue { return attrPool.Get().(*[]attribute.KeyValue) }

func putAttrs(p *[]attribute.KeyValue) {
	clear(*p) // drop the strings they point at
	*p = (*p)[:0]
	attrPool.Put(p)
}
