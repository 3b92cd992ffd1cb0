package provider

import (
	"sync"

	"github.com/tracegate/tracegate/llm"
)

// Provider-private reasoning state (Gemini's thoughtSignature) rides on tool calls, and some
// models reject a replayed call without it. Clients of the run API and the OpenAI endpoint do
// not send it back, so the gateway remembers it by tool-call id and puts it back.

// maxSignatures bounds the memory; the oldest entries go first.
const maxSignatures = 8192

type signatureStore struct {
	mu    sync.Mutex
	byID  map[string]string
	order []string
}

var signatures = &signatureStore{byID: make(map[string]string)}

func (s *signatureStore) remember(calls []llm.ToolCall) {
	for _, c := range calls {
		if c.Signature == "" || c.ID == "" {
			continue
		}
		s.mu.Lock()
		if _, ok := s.byID[c.ID]; !ok {
			if len(s.order) >= maxSignatures {
				delete(s.byID, s.order[0])
				s.order = s.order[1:]
			}
			s.order = append(s.order, c.ID)
		}
		s.byID[c.ID] = c.Signature
		s.mu.Unlock()
	}
}

// restore returns req with remembered signatures put back on its assistant tool calls,
// copying only what it changes.
func (s *signatureStore) restore(req *llm.Request) *llm.Request {
	var out *llm.Request
	for i := range req.Messages {
		m := &req.Messages[i]
		for j := range m.Parts {
			p := &m.Parts[j]
			if p.Type != llm.PartToolCall || p.ToolCall.Signature != "" {
				continue
			}
			s.mu.Lock()
			sig := s.byID[p.ToolCall.ID]
			s.mu.Unlock()
			if sig == "" {
				continue
			}
			if out == nil {
				cp := *req
				cp.Messages = append([]llm.Message(nil), req.Messages...)
				out = &cp
			}
			parts := append([]llm.Part(nil), out.Messages[i].Parts...)
			parts[j].ToolCall.Signature = sig
			out.Messages[i].Parts = parts
		}
	}
	if out == nil {
		return req
	}
	return out
}
