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

// The prompts API in the shapes the Tracia SDKs read (shared/reference/tracia-wire.md): the
// Python SDK validates every reply, so each required field is always written. Not on the hot
// path: encoding/json is fine here.

// promptHead is what Prompt and PromptListItem share: the prompt itself, no versions.
type promptHead struct {
	ID             string `json:"id"`
	Slug           string `json:"slug"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	CurrentVersion int    `json:"currentVersion"`
	CreatedAt      string `json:"createdAt"`
	UpdatedAt      string `json:"updatedAt"`
}

func headOf(p *registry.Prompt) promptHead {
	return promptHead{ID: p.ID, Slug: p.Slug, Name: p.Name, Description: p.Description,
		CurrentVersion: p.CurrentVersion, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// promptListItem is the SDK's PromptListItem, plus the model and variables Node reads.
type promptListItem struct {
	promptHead
	Model     *string  `json:"model"`
	Variables []string `json:"variables"`
}

// promptView is the SDK's Prompt, plus the flat fields Node reads (content, variables and
// model of the current version).
type promptView struct {
	promptHead
	Versions  []versionView              `json:"versions"`
	Content   []registry.TemplateMessage `json:"content"`
	Variables []string                   `json:"variables"`
	Model     *string                    `json:"model"`
}

// versionView is the SDK's PromptVersion: the stored version with provider set to the Tracia
// provider its model routes to. Tools and responseFormat ride along for a downstream
// tracegate reading this one as its registry.
type versionView struct {
	Version         int                        `json:"version"`
	Messages        []registry.TemplateMessage `json:"messages"`
	Model           string                     `json:"model"`
	Provider        string                     `json:"provider"`
	CreatedAt       string                     `json:"createdAt"`
	Temperature     *float64                   `json:"temperature,omitempty"`
	MaxOutputTokens int                        `json:"maxOutputTokens,omitempty"`
	TopP            *float64                   `json:"topP,omitempty"`
	StopSequences   []string                   `json:"stopSequences,omitempty"`
	Tools           []registry.ToolDef         `json:"tools,omitempty"`
	ResponseFormat  *registry.ResponseFormat   `json:"responseFormat,omitempty"`
}

// handleListPrompts serves GET /api/v1/prompts.
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
		it := promptListItem{promptHead: headOf(p), Variables: []string{}}
		// A list from an upstream registry carries no versions, hence no model.
		if v, ok := p.Version(0); ok {
			it.Model = modelOrNull(v.Model)
			if names := registry.Variables(v.Messages); names != nil {
				it.Variables = names
			}
		}
		items = append(items, it)
	}
	writeJSON(ctx, map[string]any{"prompts": items})
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
	b, err := json.Marshal(newPromptView(p, rt))
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

// newPromptView builds the Prompt reply for p. It copies what it changes: p is shared with
// every run that resolves it.
func newPromptView(p *registry.Prompt, rt *Runtime) promptView {
	view := promptView{promptHead: headOf(p), Versions: make([]versionView, 0, len(p.Versions)),
		Content: []registry.TemplateMessage{}, Variables: []string{}}
	for i := range p.Versions {
		v := &p.Versions[i]
		view.Versions = append(view.Versions, versionView{Version: v.Version, Messages: v.Messages, Model: v.Model,
			Provider: traciaProvider(rt, v), CreatedAt: v.CreatedAt, Temperature: v.Temperature,
			MaxOutputTokens: v.MaxOutputTokens, TopP: v.TopP, StopSequences: v.StopSequences,
			Tools: v.Tools, ResponseFormat: v.ResponseFormat})
	}
	if v, ok := p.Version(0); ok {
		view.Content = v.Messages
		view.Model = modelOrNull(v.Model)
		if names := registry.Variables(v.Messages); names != nil {
			view.Variables = names
		}
	}
	return view
}

// modelOrNull is the flat model field: null for a prompt created without one.
func modelOrNull(model string) *string {
	if model == "" {
		return nil
	}
	return &model
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
