package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/internal/redact"
	"github.com/tracegate/tracegate/llm"
)

// The cloud provider types (azure, bedrock, vertex) differ from the others in that each
// backend needs its own codec: the path depends on a deployment map or a project and region,
// and authentication is a credential chain rather than a static key. cloudSetups builds it.
var cloudSetups = map[string]func(b *Backend, p config.Provider) error{
	KindAzure:   setupAzure,
	KindBedrock: setupBedrock,
	KindVertex:  setupVertex,
}

// forModel is the variant of b that serves model.
func (b *Backend) forModel(model string) *Backend {
	if b.byModel == nil {
		return b
	}
	return b.byModel(model)
}

// speaksOpenAI reports whether b takes OpenAI Chat Completions bodies as they are.
func (b *Backend) speaksOpenAI() bool { return b.codec != nil && b.codec.openAIWire }

// wireModel is the model name a passed-through body must carry for model.
func (b *Backend) wireModel(model string) string {
	if b.codec != nil && b.codec.wireModel != nil {
		return b.codec.wireModel(model)
	}
	return model
}

// authorizeWith makes c authenticate through authorize alone (SigV4, token sources): such a
// backend needs no api_key.
func (b *Backend) authorizeWith(c *codec, authorize func(ctx context.Context, req *http.Request, body []byte) error) {
	c.auth = noAuth
	c.authorize = authorize
	b.keyless = true
}

func noAuth(func(k, v string), string) {}

// authorize runs the codec's authorize hook, if any.
func (b *Backend) authorize(ctx context.Context, req *http.Request, body []byte) error {
	if b.codec == nil || b.codec.authorize == nil {
		return nil
	}
	return b.codec.authorize(ctx, req, body)
}

// refused turns an error reply that is a refusal into a reply; nil for other errors.
func (b *Backend) refused(ue *llm.UpstreamError, model string) *llm.Response {
	if b.codec.refusal == nil {
		return nil
	}
	resp := b.codec.refusal(ue)
	if resp != nil && resp.Model == "" {
		resp.Model = model
	}
	return resp
}

// refusedStream is refused for a stream that was refused before it started: a stream of the
// refusal's finish event alone, so streaming callers see what non-streaming ones see.
func (b *Backend) refusedStream(t Target, err error) *Stream {
	var ue *llm.UpstreamError
	if !errors.As(err, &ue) {
		return nil
	}
	resp := b.refused(ue, t.Model)
	if resp == nil {
		return nil
	}
	events := []llm.StreamEvent{
		{Type: llm.EventStart, Model: resp.Model},
		{Type: llm.EventFinish, FinishReason: resp.FinishReason, RawFinishReason: resp.RawFinishReason},
	}
	return &Stream{Target: t, dec: &eventList{events: events}}
}

// eventList replays fixed events, then io.EOF.
type eventList struct{ events []llm.StreamEvent }

func (l *eventList) Next() (llm.StreamEvent, error) {
	if len(l.events) == 0 {
		return llm.StreamEvent{}, io.EOF
	}
	ev := l.events[0]
	l.events = l.events[1:]
	return ev, nil
}

// credentialsError reports credentials that could not be had (none found, expired, refused by
// the token endpoint). It wraps a MissingKeyError, so callers answer it as a missing provider
// key, with the cause redacted: credential errors can quote tokens or key material.
func credentialsError(provider, hint string, cause error) error {
	return fmt.Errorf("%w (%s)", &MissingKeyError{Provider: provider, Var: hint}, redact.Secrets(cause.Error()))
}

// tokenFetchTimeout bounds one token fetch (Entra ID, Google OAuth): it runs on the request
// path the first time and whenever the cached token nears expiry.
const tokenFetchTimeout = 30 * time.Second

// tokenRefreshMargin is how long before its expiry a token is replaced, so that a request
// signed with it does not arrive after it expired.
const tokenRefreshMargin = 2 * time.Minute

// bearerTokens authorizes requests with a bearer token from a token source, cached until
// shortly before it expires. A fetch is shared: callers that stop waiting (their context
// ended) leave it running for the next caller instead of starting another.
type bearerTokens struct {
	provider string
	hint     string // which credentials to configure, for errors
	fetch    func(ctx context.Context) (token string, expiry time.Time, err error)

	mu       sync.Mutex
	inflight chan struct{}
	token    string
	expiry   time.Time
	err      error
}

// authorize sets Authorization: Bearer on req.
func (t *bearerTokens) authorize(ctx context.Context, req *http.Request, _ []byte) error {
	tok, err := t.get(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (t *bearerTokens) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	if t.token != "" && time.Until(t.expiry) > tokenRefreshMargin {
		tok := t.token
		t.mu.Unlock()
		return tok, nil
	}
	done := t.inflight
	if done == nil {
		done = make(chan struct{})
		t.inflight = done
		go t.run(done)
	}
	t.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return "", credentialsError(t.provider, t.hint, t.err)
	}
	return t.token, nil
}

func (t *bearerTokens) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenFetchTimeout)
	tok, expiry, err := t.fetch(ctx)
	cancel()
	if err == nil && tok == "" {
		err = errEmptyToken
	}
	t.mu.Lock()
	t.err = err
	if err == nil {
		t.token, t.expiry = tok, expiry
	}
	t.inflight = nil
	t.mu.Unlock()
	close(done)
}

var errEmptyToken = errors.New("the token source returned an empty token")
