package proxy

import (
	"sync"
	"time"

	"github.com/tracegate/tracegate/llm"
)

// What a Responses endpoint remembers between calls, in memory and bounded: the conversations
// of recent translated responses, so previous_response_id works on routes whose provider keeps
// nothing, and which provider stored each passed-through response, so GET and DELETE
// /v1/responses/{id} reach it. Both are lost on restart, as a cache may be.
const (
	conversationEntries = 4096
	conversationBytes   = 256 << 20
	conversationTTL     = time.Hour
	responseOwnerCount  = 65536
	responseOwnerTTL    = 30 * 24 * time.Hour // OpenAI keeps stored responses for 30 days
)

// recentCache is an LRU bounded by entries and by the total of the sizes its callers declare,
// whose entries expire after ttl. It is safe for concurrent use.
//
// Its list is intrusive (each entry links to its neighbours): with container/list every put
// made an element besides the entry, and every look-up a type assertion.
type recentCache[V any] struct {
	mu       sync.Mutex
	entries  map[string]*recentEntry[V]
	root     recentEntry[V] // root.next: most recently used; root.prev: least
	maxLen   int
	maxBytes int
	bytes    int
	ttl      time.Duration
	now      func() time.Time
}

type recentEntry[V any] struct {
	prev, next *recentEntry[V]
	key        string
	val        V
	size       int
	expires    time.Time
}

func newRecentCache[V any](maxLen, maxBytes int, ttl time.Duration) *recentCache[V] {
	c := &recentCache[V]{entries: map[string]*recentEntry[V]{}, maxLen: maxLen, maxBytes: maxBytes, ttl: ttl, now: time.Now}
	c.root.prev, c.root.next = &c.root, &c.root
	return c
}

// put stores v under key; an entry larger than the whole budget is not kept.
func (c *recentCache[V]) put(key string, v V, size int) {
	if size > c.maxBytes {
		return
	}
	e := &recentEntry[V]{key: key, val: v, size: size, expires: c.now().Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.removeLocked(old)
	}
	c.entries[key] = e
	c.pushFrontLocked(e)
	c.bytes += size
	for len(c.entries) > c.maxLen || c.bytes > c.maxBytes {
		c.removeLocked(c.root.prev)
	}
}

func (c *recentCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	e, ok := c.entries[key]
	if !ok {
		return zero, false
	}
	if c.now().After(e.expires) {
		c.removeLocked(e)
		return zero, false
	}
	c.unlinkLocked(e)
	c.pushFrontLocked(e)
	return e.val, true
}

// remove deletes key and reports whether it was there (and not expired).
func (c *recentCache[V]) remove(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return false
	}
	live := !c.now().After(e.expires)
	c.removeLocked(e)
	return live
}

func (c *recentCache[V]) pushFrontLocked(e *recentEntry[V]) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}

func (c *recentCache[V]) unlinkLocked(e *recentEntry[V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *recentCache[V]) removeLocked(e *recentEntry[V]) {
	c.unlinkLocked(e)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// responsesMemory is the Responses endpoint's state across calls.
type responsesMemory struct {
	// conversations maps a translated response's id to its whole conversation: the input
	// (with the turns it continued) and the reply, instructions excluded, as OpenAI carries
	// previous_response_id.
	conversations *recentCache[[]llm.Message]
	// owners maps a passed-through response's id to the provider that stored it.
	owners *recentCache[string]
}

func newResponsesMemory() *responsesMemory {
	return &responsesMemory{
		conversations: newRecentCache[[]llm.Message](conversationEntries, conversationBytes, conversationTTL),
		owners:        newRecentCache[string](responseOwnerCount, responseOwnerCount*64, responseOwnerTTL),
	}
}

// conversationSize estimates the memory a conversation holds, for the byte budget.
func conversationSize(msgs []llm.Message) int {
	n := 0
	for i := range msgs {
		n += 64 + len(msgs[i].ToolCallID)
		for _, p := range msgs[i].Parts {
			n += 32 + len(p.Text) + len(p.ToolCall.ID) + len(p.ToolCall.Name) + len(p.ToolCall.Arguments) + len(p.ToolCall.Signature)
			if p.Image != nil {
				n += len(p.Image.Data) + len(p.Image.URL)
			}
			if p.Reasoning != nil {
				n += len(p.Reasoning.Text) + len(p.Reasoning.Signature) + len(p.Reasoning.Redacted)
			}
		}
	}
	return n
}
