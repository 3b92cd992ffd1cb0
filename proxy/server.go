package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracegate/tracegate/internal/intern"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/provider"
	"github.com/tracegate/tracegate/registry"
	"github.com/tracegate/tracegate/spans"
	"github.com/valyala/fasthttp"
)

// promptStore resolves prompts; *registry.Registry implements it.
type promptStore interface {
	Resolve(ctx context.Context, slug string, version int, callerKey string) (registry.Resolved, error)
	Get(ctx context.Context, slug, callerKey string) (*registry.Prompt, error)
	List(ctx context.Context, callerKey string) ([]*registry.Prompt, error)
}

// dispatcher sends requests to providers and answers what routing knows; *provider.Dispatcher
// implements it. Resolve names a model's backend, and with it its provider kind.
type dispatcher interface {
	Complete(ctx context.Context, model string, req *llm.Request, observe provider.AttemptObserver) (provider.Result, error)
	Forward(ctx context.Context, model string, body []byte, decode provider.RequestDecoder, observe provider.AttemptObserver) (*provider.Forwarded, error)
	ForwardStream(ctx context.Context, model string, body []byte, decode provider.RequestDecoder, observe provider.AttemptObserver) (*provider.ForwardedStream, error)
	Resolve(model string) (provider.Target, error)
	Models() []string
	AnyConfigured() bool
	// The Anthropic Messages endpoint (messages.go).
	ForwardMessages(ctx context.Context, model string, body []byte, h provider.MessagesHeaders, decode provider.RequestDecoder, observe provider.AttemptObserver) (*provider.Forwarded, error)
	ForwardMessagesStream(ctx context.Context, model string, body []byte, h provider.MessagesHeaders, decode provider.RequestDecoder, observe provider.AttemptObserver) (*provider.ForwardedStream, error)
	CountMessageTokens(ctx context.Context, model string, body []byte, h provider.MessagesHeaders, decode provider.RequestDecoder) (*provider.TokenCount, error)
}

// pricer prices usage; *pricing.Table implements it.
type pricer interface {
	Cost(providerKind, model string, u llm.Usage) (float64, bool)
}

// runRecorder starts run spans; *spans.Recorder implements it.
type runRecorder interface {
	StartRun(ctx context.Context, s spans.RunStart) (context.Context, *spans.Run, error)
}

// Runtime is the part of the server that a config reload replaces as a whole.
type Runtime struct {
	Dispatcher dispatcher
	Prices     pricer
	AuthKeys   [][]byte
	// ProtectOps puts /metrics, /healthz and /readyz behind AuthKeys too.
	ProtectOps bool
}

// Options are the server's fixed settings.
type Options struct {
	MaxBodyBytes int
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// MaxConcurrent bounds the requests handled at once (streams included, ops endpoints
	// not); past it requests are refused with 503. 0 means no limit.
	MaxConcurrent int
	// Concurrency is fasthttp's connection limit; 0 derives a backstop from MaxConcurrent.
	Concurrency int
}

// Server serves the run API and the OpenAI-compatible API.
type Server struct {
	opts     Options
	prompts  promptStore
	spans    runRecorder
	log      *slog.Logger
	runtime  atomic.Pointer[Runtime]
	fast     *fasthttp.Server
	inFlight atomic.Int64
	obs      Observer
	streams  StreamObserver
	limit    *concurrencyLimit
	// draining is set by Shutdown, so /readyz turns load balancers away while in-flight
	// requests finish.
	draining  atomic.Bool
	metrics   fasthttp.RequestHandler
	readiness []namedCheck
	spansAPI  atomic.Pointer[spansAPI] // the Tracia spans API; nil until EnableSpansAPI
	// respMem is the Responses endpoint's memory (responses_memory.go), made on first use.
	respMem     *responsesMemory
	respMemOnce sync.Once
}

// New builds a server. rt may be swapped later with SetRuntime.
func New(opts Options, prompts promptStore, rec runRecorder, log *slog.Logger, rt *Runtime) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{opts: opts, prompts: prompts, spans: rec, log: log, obs: nopObserver{}, streams: nopObserver{},
		limit: newConcurrencyLimit(opts.MaxConcurrent)}
	s.runtime.Store(rt)
	if opts.Concurrency == 0 {
		opts.Concurrency = fasthttpConcurrency(opts.MaxConcurrent)
	}
	s.fast = &fasthttp.Server{
		Handler:                      s.Handle,
		ErrorHandler:                 s.handleParseError,
		Name:                         "tracegate",
		MaxRequestBodySize:           opts.MaxBodyBytes,
		ReadTimeout:                  opts.ReadTimeout,
		WriteTimeout:                 opts.WriteTimeout,
		IdleTimeout:                  opts.IdleTimeout,
		Concurrency:                  opts.Concurrency,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{log},
	}
	return s
}

// SetObserver installs the metrics observer; call it before Serve. An observer that also
// implements StreamObserver is told about streams.
func (s *Server) SetObserver(o Observer) {
	if o != nil {
		s.obs = o
	}
	if so, ok := o.(StreamObserver); ok {
		s.streams = so
	}
}

// SetRuntime replaces the reloadable part of the server; requests in flight keep the old one.
func (s *Server) SetRuntime(rt *Runtime) { s.runtime.Store(rt) }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.fast.Serve(ln) }

// Shutdown turns /readyz to not ready, stops accepting, closes idle connections and waits
// for in-flight requests and streams until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return s.fast.ShutdownWithContext(ctx)
}

var (
	pathChat      = []byte("/v1/chat/completions")
	pathModels    = []byte("/v1/models")
	pathResponses = []byte("/v1/responses")
	pathRunPrefix = []byte("/api/v1/prompts/")
	pathPrompts   = []byte("/api/v1/prompts")
	suffixRun     = []byte("/run")
)

// Handle routes one request.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	path := ctx.Request.URI().PathOriginal()
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if ep := opsEndpointOf(path); ep != notOps {
		s.handleOps(ctx, ep)
		return
	}
	if !s.limit.acquire() {
		s.refuseOverloaded(ctx, path)
		return
	}
	defer s.limit.release()
	switch {
	case bytes.Equal(path, pathChat):
		if !ctx.IsPost() {
			writeOpenAIError(ctx, errMethod)
			return
		}
		s.handleChat(ctx)
	case bytes.Equal(path, pathEmbeddings):
		if !ctx.IsPost() {
			writeOpenAIError(ctx, errMethod)
			return
		}
		s.handleEmbeddings(ctx)
	case bytes.Equal(path, pathResponses):
		if !ctx.IsPost() {
			writeOpenAIError(ctx, errMethod)
			return
		}
		s.handleResponses(ctx)
	case bytes.HasPrefix(path, pathResponses) && path[len(pathResponses)] == '/':
		s.handleStoredResponse(ctx, string(path[len(pathResponses)+1:]))
	case bytes.Equal(path, pathMessages), bytes.Equal(path, pathCountTokens):
		if !ctx.IsPost() {
			writeAnthropicError(ctx, errMethod)
			return
		}
		if len(path) == len(pathMessages) {
			s.handleMessages(ctx)
		} else {
			s.handleCountTokens(ctx)
		}
	case bytes.Equal(path, pathModels):
		if !ctx.IsGet() {
			writeOpenAIError(ctx, errMethod)
			return
		}
		s.handleModels(ctx)
	case bytes.Equal(path, pathSpans) || bytes.HasPrefix(path, pathSpansPrefix):
		s.handleSpans(ctx, path)
	case bytes.Equal(path, pathPrompts) || bytes.Equal(path, pathRunPrefix):
		s.routePrompts(ctx)
	case bytes.HasPrefix(path, pathRunPrefix):
		rest := path[len(pathRunPrefix):]
		if bytes.HasSuffix(rest, suffixRun) {
			slug, ok := unescapeSlug(rest[:len(rest)-len(suffixRun)])
			if !ctx.IsPost() {
				writeRunError(ctx, errMethod)
				return
			}
			if !ok {
				writeRunError(ctx, invalid("slug %q must be letters, digits, '.', '_' or '-' without '..'", rest[:len(rest)-len(suffixRun)]))
				return
			}
			s.handleRun(ctx, slug)
			return
		}
		slug, ok := unescapeSlug(rest)
		if !ok {
			writeRunError(ctx, invalid("slug %q must be letters, digits, '.', '_' or '-' without '..'", rest))
			return
		}
		s.routePrompt(ctx, slug)
	default:
		writeRunError(ctx, errRouteNotFound)
	}
}

func (s *Server) onlyGET(ctx *fasthttp.RequestCtx, h fasthttp.RequestHandler) {
	if !ctx.IsGet() {
		writeRunError(ctx, errMethod)
		return
	}
	h(ctx)
}

// unescapeSlug decodes a raw path segment. An encoded '/' or a ".." stays invalid rather
// than being normalised into another path.
func unescapeSlug(raw []byte) (string, bool) {
	if s, ok := slugNames.Known(raw); ok {
		return s, true // kept only once valid
	}
	s := string(raw)
	if bytes.IndexByte(raw, '%') >= 0 {
		var err error
		if s, err = url.PathUnescape(s); err != nil {
			return "", false
		}
	}
	if !registry.ValidSlug(s) {
		return "", false
	}
	if len(s) == len(raw) {
		slugNames.Keep(s) // s is raw as it came: no escapes
	}
	return s, true
}

// slugNames interns the slugs of request paths, valid ones only: a busy prompt's runs then
// share one copy of its name, which every run's spans keep.
var slugNames = intern.New(1024)

// handleParseError answers requests fasthttp could not read, in the error shape of the
// surface their path names (fasthttp has parsed the request line by then).
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	write := writeRunError
	switch path := ctx.Request.URI().PathOriginal(); {
	case bytes.HasPrefix(path, pathMessages):
		write = writeAnthropicError // Anthropic's SDKs read only their own shape
	case bytes.HasPrefix(path, pathOpenAIPrefix):
		write = writeOpenAIError
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		write(ctx, invalid("request headers too large"))
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		write(ctx, bodyTooLarge(s.opts.MaxBodyBytes))
	default:
		write(ctx, invalid("cannot read request: %v", err))
	}
}

// InFlight is the number of requests being handled.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// fasthttpLogger sends fasthttp's own messages (connection errors, mostly) to the debug log:
// each is already answered to the client, and at info they would drown the run lines.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...), "component", "fasthttp")
	}
}
