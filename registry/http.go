package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPOptions configure an upstream registry that speaks the Tracia prompts API.
type HTTPOptions struct {
	// BaseURL is the registry's root; prompts are fetched from {BaseURL}/api/v1/prompts/{slug}.
	BaseURL string
	// APIKey is sent as a bearer key. Exclusive with PassCallerKey.
	APIKey string
	// PassCallerKey forwards each caller's own bearer key instead of APIKey, for registries
	// that show different prompts to different keys.
	PassCallerKey bool
	// Timeout bounds each upstream request, body included. Zero means DefaultHTTPTimeout.
	Timeout time.Duration
	// Client replaces the HTTP client, for tests; its Timeout is left alone.
	Client *http.Client
}

// DefaultHTTPTimeout bounds an upstream request when HTTPOptions.Timeout is zero.
const DefaultHTTPTimeout = 5 * time.Second

// maxUpstreamBody bounds what is read from the upstream: a prompt is a few kilobytes, and a
// misbehaving registry must not make a sidecar buffer without limit.
const maxUpstreamBody = 4 << 20

// HTTPSource fetches prompts from an upstream registry. It does not cache: put a Cache in
// front of it. Keys are sent only in the Authorization header, never in errors or logs.
type HTTPSource struct {
	probe         probe  // the last /readyz answer
	base          string // without a trailing slash
	host          string // names the registry in errors; never carries credentials
	apiKey        string
	passCallerKey bool
	timeout       time.Duration
	client        *http.Client
}

// NewHTTPSource checks o and returns a source for the registry at o.BaseURL.
func NewHTTPSource(o HTTPOptions) (*HTTPSource, error) {
	u, err := url.Parse(o.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("registry base_url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry base_url %q: want an http or https URL with a host", u.Redacted())
	}
	if o.PassCallerKey && o.APIKey != "" {
		return nil, errors.New("registry: api_key and pass_caller_key are exclusive")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultHTTPTimeout
	}
	client := o.Client
	if client == nil {
		// A transport of its own, so that idle connections to the registry are kept apart
		// from any other client in the process.
		transport := &http.Transport{Proxy: http.ProxyFromEnvironment}
		if def, ok := http.DefaultTransport.(*http.Transport); ok {
			transport = def.Clone()
		}
		transport.MaxIdleConnsPerHost = 16
		client = &http.Client{Transport: transport}
	}
	return &HTTPSource{
		base:          strings.TrimRight(u.String(), "/"),
		host:          u.Host,
		apiKey:        o.APIKey,
		passCallerKey: o.PassCallerKey,
		timeout:       o.Timeout,
		client:        client,
	}, nil
}

// upstreamReply is one answer of the upstream registry to a prompt request.
type upstreamReply struct {
	prompt *Prompt
	etag   string
	// notModified is set when the upstream answered 304 to If-None-Match: the cached copy
	// with that ETag is still current.
	notModified bool
}

// Get fetches slug from the upstream, uncached.
func (s *HTTPSource) Get(ctx context.Context, slug, callerKey string) (*Prompt, error) {
	reply, err := s.fetch(ctx, slug, callerKey, "")
	if err != nil {
		return nil, err
	}
	return reply.prompt, nil
}

// fetch asks the upstream for slug, conditionally when etag is set. Errors wrap ErrNotFound
// (404), ErrRejected (401, 403), ErrTimeout (no answer within the timeout) or ErrUnavailable
// (anything else: connection errors, other statuses, a body that is not a usable prompt).
func (s *HTTPSource) fetch(ctx context.Context, slug, callerKey, etag string) (upstreamReply, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := s.newRequest(ctx, "/api/v1/prompts/"+url.PathEscape(slug), callerKey)
	if err != nil {
		return upstreamReply{}, fmt.Errorf("prompt %q: %w", slug, err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return upstreamReply{}, fmt.Errorf("prompt %q: %w", slug, s.transportError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && etag != "" {
		return upstreamReply{etag: etag, notModified: true}, nil
	}
	body, err := s.readBody(ctx, resp)
	if err != nil {
		return upstreamReply{}, fmt.Errorf("prompt %q: %w", slug, err)
	}
	if err := s.statusError(resp.StatusCode, body); err != nil {
		return upstreamReply{}, fmt.Errorf("prompt %q: %w", slug, err)
	}
	p, err := decodePrompt(body, slug)
	if err != nil {
		return upstreamReply{}, fmt.Errorf("prompt %q: registry %s sent an unusable prompt: %w: %w", slug, s.host, err, ErrUnavailable)
	}
	return upstreamReply{prompt: p, etag: resp.Header.Get("ETag")}, nil
}

// List fetches the upstream's prompt list. The list endpoint carries no versions, so the
// prompts returned have none: they are for listing, not for running.
func (s *HTTPSource) List(ctx context.Context, callerKey string) ([]*Prompt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := s.newRequest(ctx, "/api/v1/prompts", callerKey)
	if err != nil {
		return nil, fmt.Errorf("list prompts: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list prompts: %w", s.transportError(ctx, err))
	}
	defer resp.Body.Close()
	body, err := s.readBody(ctx, resp)
	if err != nil {
		return nil, fmt.Errorf("list prompts: %w", err)
	}
	if err := s.statusError(resp.StatusCode, body); err != nil {
		return nil, fmt.Errorf("list prompts: %w", err)
	}
	list, err := decodePromptList(body)
	if err != nil {
		return nil, fmt.Errorf("list prompts: registry %s sent an unusable list: %w: %w", s.host, err, ErrUnavailable)
	}
	return list, nil
}

func (s *HTTPSource) newRequest(ctx context.Context, path, callerKey string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("build registry request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	// Exactly one key goes upstream: the caller's when passing through, else the configured one.
	key := s.apiKey
	if s.passCallerKey {
		key = callerKey
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req, nil
}

// transportError classifies a failed round trip. A deadline becomes ErrTimeout, so that the
// caller sees TIMEOUT rather than NETWORK_ERROR.
func (s *HTTPSource) transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("registry %s did not answer within %s: %w", s.host, s.timeout, ErrTimeout)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("registry %s: %w", s.host, context.Canceled)
	}
	return fmt.Errorf("registry %s: %w: %w", s.host, unwrapURLError(err), ErrUnavailable)
}

// unwrapURLError drops net/http's "Get <url>:" prefix, which repeats what the message says.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (s *HTTPSource) readBody(ctx context.Context, resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err != nil {
		return nil, s.transportError(ctx, err)
	}
	if len(body) > maxUpstreamBody {
		return nil, fmt.Errorf("registry %s sent more than %d bytes: %w", s.host, maxUpstreamBody, ErrUnavailable)
	}
	return body, nil
}

// statusError maps a non-2xx status to the registry's errors, keeping the upstream's own
// error message when it sent one in the run API's error shape.
func (s *HTTPSource) statusError(status int, body []byte) error {
	if status >= 200 && status < 300 {
		return nil
	}
	detail := upstreamErrorMessage(body)
	switch status {
	case http.StatusNotFound:
		return fmt.Errorf("registry %s answered 404%s: %w", s.host, detail, ErrNotFound)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("registry %s answered %d%s: %w", s.host, status, detail, ErrRejected)
	}
	return fmt.Errorf("registry %s answered %d%s: %w", s.host, status, detail, ErrUnavailable)
}

// upstreamErrorMessage extracts error.message from {"error":{"code","message"}}, as
// ": message", or "" when the body is not in that shape.
func upstreamErrorMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return ""
	}
	const maxLen = 200
	msg := e.Error.Message
	if len(msg) > maxLen {
		msg = msg[:maxLen] + "..."
	}
	return ": " + msg
}

// wirePrompt is an upstream Prompt in either shape of the Tracia API: versioned (versions)
// or flat (content, model and friends describing the current version). tracegate itself
// serves both at once; versions win when present.
type wirePrompt struct {
	ID             string    `json:"id"`
	Slug           string    `json:"slug"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	CurrentVersion int       `json:"currentVersion"`
	Versions       []Version `json:"versions"`
	CreatedAt      string    `json:"createdAt"`
	UpdatedAt      string    `json:"updatedAt"`

	Content         []TemplateMessage `json:"content"`
	Model           string            `json:"model"`
	Provider        string            `json:"provider"`
	Temperature     *float64          `json:"temperature"`
	MaxOutputTokens int               `json:"maxOutputTokens"`
	TopP            *float64          `json:"topP"`
	StopSequences   []string          `json:"stopSequences"`
	Tools           []ToolDef         `json:"tools"`
	ResponseFormat  *ResponseFormat   `json:"responseFormat"`
}

// decodePrompt parses an upstream Prompt body served for slug and checks it is usable.
// Unknown fields are ignored: registries add fields over time.
func decodePrompt(body []byte, slug string) (*Prompt, error) {
	var w wirePrompt
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("decode prompt: %w", err)
	}
	p := &Prompt{
		ID:             w.ID,
		Slug:           w.Slug,
		Name:           w.Name,
		Description:    w.Description,
		CurrentVersion: w.CurrentVersion,
		Versions:       w.Versions,
		CreatedAt:      w.CreatedAt,
		UpdatedAt:      w.UpdatedAt,
	}
	if len(p.Versions) == 0 && len(w.Content) > 0 {
		// The flat shape describes only the current version.
		p.CurrentVersion = max(w.CurrentVersion, 1)
		p.Versions = []Version{{
			Version:         p.CurrentVersion,
			Model:           w.Model,
			Provider:        w.Provider,
			Temperature:     w.Temperature,
			MaxOutputTokens: w.MaxOutputTokens,
			TopP:            w.TopP,
			StopSequences:   w.StopSequences,
			Messages:        w.Content,
			Tools:           w.Tools,
			ResponseFormat:  w.ResponseFormat,
		}}
	}
	if err := p.normalize(slug, unknownTime); err != nil {
		return nil, err
	}
	return p, nil
}

// decodePromptList parses {"prompts":[PromptListItem]}. Items whose slug could not name a
// prompt here are skipped rather than failing the whole list.
func decodePromptList(body []byte) ([]*Prompt, error) {
	var w struct {
		Prompts *[]struct {
			ID             string `json:"id"`
			Slug           string `json:"slug"`
			Name           string `json:"name"`
			Description    string `json:"description"`
			CurrentVersion int    `json:"currentVersion"`
			CreatedAt      string `json:"createdAt"`
			UpdatedAt      string `json:"updatedAt"`
		} `json:"prompts"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("decode prompt list: %w", err)
	}
	if w.Prompts == nil {
		return nil, errors.New(`decode prompt list: no "prompts" array`)
	}
	out := make([]*Prompt, 0, len(*w.Prompts))
	for _, it := range *w.Prompts {
		if !ValidSlug(it.Slug) {
			continue
		}
		p := &Prompt{ID: it.ID, Slug: it.Slug, Name: it.Name, Description: it.Description,
			CurrentVersion: it.CurrentVersion, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
		if p.ID == "" {
			p.ID = p.Slug
		}
		if p.Name == "" {
			p.Name = p.Slug
		}
		out = append(out, p)
	}
	return out, nil
}
