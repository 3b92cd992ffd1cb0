package proxy

import (
	"context"
	"errors"
	"time"

	"github.com/tracegate/tracegate/metrics"
	"github.com/valyala/fasthttp"
)

// The operations endpoints. They bypass the concurrency limit, so that probes and scrapes
// still answer when the gateway is saturated, and are open unless server.protect_ops is on.
const (
	pathMetrics = "/metrics"
	pathHealthz = "/healthz"
	pathReadyz  = "/readyz"
)

type opsEndpoint int8

const (
	notOps opsEndpoint = iota
	opsMetrics
	opsHealth
	opsReady
)

// opsEndpointOf classifies path; the string conversion in the switch does not allocate.
func opsEndpointOf(path []byte) opsEndpoint {
	switch string(path) {
	case pathMetrics:
		return opsMetrics
	case pathHealthz:
		return opsHealth
	case pathReadyz:
		return opsReady
	}
	return notOps
}

// ReadinessCheck is one condition of /readyz: nil when met, else the reason it is not.
type ReadinessCheck func(ctx context.Context) error

type namedCheck struct {
	name  string
	check ReadinessCheck
}

// readinessTimeout bounds all checks of one /readyz call, so a slow dependency makes the
// gateway not ready rather than making the probe hang.
const readinessTimeout = 2 * time.Second

var (
	errShuttingDown     = errors.New("shutting down: finishing in-flight requests")
	errNoRuntime        = errors.New("no configuration loaded")
	errNoProviderUsable = errors.New("no provider is usable: every configured provider lacks its API key")
)

// SetMetricsHandler installs the handler behind GET /metrics; call it before Serve. Without
// one, /metrics is 404.
func (s *Server) SetMetricsHandler(h fasthttp.RequestHandler) { s.metrics = h }

// AddReadinessCheck adds a condition to /readyz under name; call it before Serve. Checks run
// on every /readyz request, so they must be cheap.
func (s *Server) AddReadinessCheck(name string, check ReadinessCheck) {
	s.readiness = append(s.readiness, namedCheck{name, check})
}

// Readiness runs every readiness check and returns the failing ones, by name. Empty means
// ready. Besides the added checks: the server is not shutting down, a configuration is
// loaded and at least one provider is usable (has its key, or is the mock).
func (s *Server) Readiness(ctx context.Context) map[string]string {
	failing := map[string]string{}
	if s.draining.Load() {
		failing["shutdown"] = errShuttingDown.Error()
	}
	rt := s.runtime.Load()
	switch {
	case rt == nil || rt.Dispatcher == nil:
		failing["config"] = errNoRuntime.Error()
	case !anyProviderUsable(rt):
		failing["providers"] = errNoProviderUsable.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	for _, c := range s.readiness {
		if err := c.check(ctx); err != nil {
			failing[c.name] = err.Error()
		}
	}
	return failing
}

func anyProviderUsable(rt *Runtime) bool {
	return rt.Dispatcher != nil && rt.Dispatcher.AnyConfigured()
}

// handleOps serves /metrics, /healthz and /readyz.
func (s *Server) handleOps(ctx *fasthttp.RequestCtx, ep opsEndpoint) {
	start := time.Now()
	defer func() {
		s.obs.RequestDone(metrics.RequestSummary{Route: metrics.RouteOps, Status: ctx.Response.StatusCode(), Duration: time.Since(start)})
	}()
	if !ctx.IsGet() && !ctx.IsHead() {
		writeRunError(ctx, errMethod)
		return
	}
	if rt := s.runtime.Load(); rt != nil && rt.ProtectOps && !authorized(ctx, rt.AuthKeys) {
		ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="tracegate"`)
		writeRunError(ctx, errUnauthorized)
		return
	}
	switch ep {
	case opsHealth:
		// Alive means able to answer: nothing else is checked, so a dependency outage never
		// gets the process restarted.
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ok"}`)
	case opsReady:
		s.handleReadyz(ctx)
	case opsMetrics:
		if s.metrics == nil {
			writeRunError(ctx, errRouteNotFound)
			return
		}
		s.metrics(ctx)
	}
}

// readyzReply is the /readyz body.
type readyzReply struct {
	Status string `json:"status"`
	// NotReady names each failing check with its reason.
	NotReady map[string]string `json:"not_ready,omitempty"`
}

func (s *Server) handleReadyz(ctx *fasthttp.RequestCtx) {
	failing := s.Readiness(context.Background())
	if len(failing) == 0 {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ready"}`)
		return
	}
	writeJSON(ctx, readyzReply{Status: "not ready", NotReady: failing})
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
}
