package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
	"strconv"

	"github.com/tracegate/tracegate/registry"
	"github.com/valyala/fasthttp"
)

// promptListItem is the SDK's PromptListItem.
type promptListItem struct {
	ID             string `json:"id"`
	Slug           string `json:"slug"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	CurrentVersion int    `json:"currentVersion"`
	CreatedAt      string `json:"createdAt,omitempty"`
	UpdatedAt      string `json:"updatedAt,omitempty"`
}

// handleListPrompts serves GET /api/v1/prompts. Not on the hot path: encoding/json is fine.
func (s *Server) handleListPrompts(ctx *fasthttp.RequestCtx) {
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		writeRunError(ctx, errUnauthorized)
		return
	}
	list, err := s.prompts.List(context.Background(), string(callerKey(ctx)))
	if err != nil {
		writeRunError(ctx, err)
		return
	}
	items := make([]promptListItem, 0, len(list))
	for _, p := range list {
		items = append(items, promptListItem{ID: p.ID, Slug: p.Slug, Name: p.Name, Description: p.Description,
			CurrentVersion: p.CurrentVersion, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt})
	}
	writeJSON(ctx, map[string]any{"prompts": items})
}

// promptView is the Prompt shape the SDKs parse, plus the flat fields of the Node docs
// (content, variables, model of the current version).
type promptView struct {
	*registry.Prompt
	Content   []registry.TemplateMessage `json:"content"`
	Variables []string                   `json:"variables"`
	Model     string                     `json:"model"`
}

// handleGetPrompt serves GET /api/v1/prompts/{slug}.
func (s *Server) handleGetPrompt(ctx *fasthttp.RequestCtx, slug string) {
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		writeRunError(ctx, errUnauthorized)
		return
	}
	p, err := s.prompts.Get(context.Background(), slug, string(callerKey(ctx)))
	if err != nil {
		writeRunError(ctx, err)
		return
	}
	view := promptView{Prompt: p}
	if v, ok := p.Version(0); ok {
		view.Content = v.Messages
		view.Variables = registry.Variables(v.Messages)
		view.Model = v.Model
	}
	if view.Variables == nil {
		view.Variables = []string{}
	}
	b, err := json.Marshal(view)
	if err != nil {
		writeRunError(ctx, err)
		return
	}
	// An ETag lets a downstream tracegate (or any client) revalidate a cached prompt with a
	// 304 instead of fetching it again.
	h := fnv.New64a()
	h.Write(b)
	etag := `"` + strconv.FormatUint(h.Sum64(), 16) + `"`
	ctx.Response.Header.Set(fasthttp.HeaderETag, etag)
	if inm := ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch); len(inm) > 0 && bytes.Contains(inm, []byte(etag)) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType("application/json")
	ctx.Response.SetBodyRaw(b)
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeRunError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.Response.SetBodyRaw(b)
}
