package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/tracegate/tracegate/registry"
	"github.com/valyala/fasthttp"
)

// Prompt management: POST /api/v1/prompts, PUT and DELETE /api/v1/prompts/{slug}, written by
// the registry to its writable file source (DESIGN.md section 2). Rare calls: encoding/json is
// fine, and its strictness (unknown fields, wrong types) is what a write needs.

// promptWriter stores prompts; *registry.Registry implements it.
type promptWriter interface {
	Create(ctx context.Context, c *registry.PromptChange, callerKey string) (*registry.Prompt, error)
	Update(ctx context.Context, slug string, c *registry.PromptChange, callerKey string) (*registry.Prompt, error)
	Delete(ctx context.Context, slug, callerKey string) error
}

// maxPromptBodyBytes bounds a create or update body, below server.max_body_bytes: a prompt
// is text, and its file is re-read on every change.
const maxPromptBodyBytes = 1 << 20

// routePrompts serves /api/v1/prompts: list (GET) and create (POST).
func (s *Server) routePrompts(ctx *fasthttp.RequestCtx) {
	if ctx.IsPost() {
		s.handleCreatePrompt(ctx)
		return
	}
	s.onlyGET(ctx, s.handleListPrompts)
}

// routePrompt serves /api/v1/prompts/{slug}: get, update (PUT) and delete.
func (s *Server) routePrompt(ctx *fasthttp.RequestCtx, slug string) {
	switch {
	case ctx.IsPut():
		s.handleUpdatePrompt(ctx, slug)
	case ctx.IsDelete():
		s.handleDeletePrompt(ctx, slug)
	default:
		s.onlyGET(ctx, func(ctx *fasthttp.RequestCtx) { s.handleGetPrompt(ctx, slug) })
	}
}

// promptChangeBody is CreatePromptOptions / UpdatePromptOptions. null is read as absent, as
// the SDKs leave unset options out or send them as null.
type promptChangeBody struct {
	Slug            *string        `json:"slug"`
	Name            *string        `json:"name"`
	Description     *string        `json:"description"`
	Content         *[]messageBody `json:"content"`
	Model           *string        `json:"model"`
	Provider        *string        `json:"provider"`
	Temperature     *float64       `json:"temperature"`
	MaxOutputTokens *int           `json:"maxOutputTokens"`
	TopP            *float64       `json:"topP"`
	StopSequences   *[]string      `json:"stopSequences"`
}

// messageBody is PromptMessage; the SDK sends its id, the server derives one when it is absent.
type messageBody struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Content string `json:"content"`
}

// decodePromptChange reads a create or update body; every error names the field at fault.
func decodePromptChange(body []byte) (*registry.PromptChange, error) {
	if len(body) > maxPromptBodyBytes {
		return nil, bodyTooLarge(maxPromptBodyBytes)
	}
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, invalid("request body: want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b promptChangeBody
	if err := dec.Decode(&b); err != nil {
		return nil, promptBodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("request body: data after the JSON object")
	}
	c := &registry.PromptChange{Slug: b.Slug, Name: b.Name, Description: b.Description, Model: b.Model,
		Provider: b.Provider, Temperature: b.Temperature, MaxOutputTokens: b.MaxOutputTokens, TopP: b.TopP,
		StopSequences: b.StopSequences}
	if b.Content != nil {
		msgs := make([]registry.TemplateMessage, len(*b.Content))
		for i, m := range *b.Content {
			msgs[i] = registry.TemplateMessage{ID: m.ID, Role: m.Role, Content: m.Content}
		}
		c.Content = &msgs
	}
	return c, nil
}

// promptBodyError rewrites encoding/json's errors to name the field in the SDK's terms.
func promptBodyError(err error) error {
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &te) && te.Field != "":
		return invalid("%s: want %s, got a JSON %s", te.Field, jsonTypeName(te.Type.Kind().String()), te.Value)
	case errors.As(err, &te):
		return invalid("request body: want a JSON object, got a JSON %s", te.Value)
	case errors.As(err, &se):
		return invalid("request body: malformed JSON at byte %d: %v", se.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalid("%s: unknown field (the body is CreatePromptOptions / UpdatePromptOptions)",
			strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("request body: truncated JSON")
	}
	return invalid("request body: %v", err)
}

// jsonTypeName names a Go kind the way the caller wrote JSON.
func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return kind
}

// writer is the server's prompt store when it can write; a store that cannot (a test fake)
// is answered like a registry without a writable source.
func (s *Server) writer() (promptWriter, error) {
	if w, ok := s.prompts.(promptWriter); ok {
		return w, nil
	}
	return nil, registry.ErrReadOnly
}

// authorizedWriter checks the caller's key and that prompts can be written, answering the
// request itself when not.
func (s *Server) authorizedWriter(ctx *fasthttp.RequestCtx) (promptWriter, *Runtime, bool) {
	rt := s.runtime.Load()
	if !authorized(ctx, rt.AuthKeys) {
		writeRunError(ctx, errUnauthorized)
		return nil, nil, false
	}
	w, err := s.writer()
	if err != nil {
		writeRunError(ctx, err)
		return nil, nil, false
	}
	return w, rt, true
}

// handleCreatePrompt serves POST /api/v1/prompts: 201 with the new Prompt.
func (s *Server) handleCreatePrompt(ctx *fasthttp.RequestCtx) {
	s.writePrompt(ctx, func(w promptWriter, c *registry.PromptChange, key string) (*registry.Prompt, error) {
		return w.Create(context.Background(), c, key)
	}, fasthttp.StatusCreated)
}

// handleUpdatePrompt serves PUT /api/v1/prompts/{slug}: the updated Prompt.
func (s *Server) handleUpdatePrompt(ctx *fasthttp.RequestCtx, slug string) {
	s.writePrompt(ctx, func(w promptWriter, c *registry.PromptChange, key string) (*registry.Prompt, error) {
		return w.Update(context.Background(), slug, c, key)
	}, fasthttp.StatusOK)
}

func (s *Server) writePrompt(ctx *fasthttp.RequestCtx,
	write func(promptWriter, *registry.PromptChange, string) (*registry.Prompt, error), status int) {
	w, rt, ok := s.authorizedWriter(ctx)
	if !ok {
		return
	}
	c, err := decodePromptChange(ctx.PostBody())
	if err != nil {
		writeRunError(ctx, err)
		return
	}
	p, err := write(w, c, string(callerKey(ctx)))
	if err != nil {
		writeRunError(ctx, err)
		return
	}
	writeJSON(ctx, newPromptView(p, rt))
	ctx.SetStatusCode(status)
}

// handleDeletePrompt serves DELETE /api/v1/prompts/{slug}: {"success": true}, a body because
// the Node SDK parses every success as JSON.
func (s *Server) handleDeletePrompt(ctx *fasthttp.RequestCtx, slug string) {
	w, _, ok := s.authorizedWriter(ctx)
	if !ok {
		return
	}
	if err := w.Delete(context.Background(), slug, string(callerKey(ctx))); err != nil {
		writeRunError(ctx, err)
		return
	}
	ctx.SetContentType("application/json")
	ctx.Response.SetBodyString(`{"success":true}`)
}
