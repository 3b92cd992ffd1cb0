package provider

import (
	"fmt"
	"strings"

	"github.com/tracegate/tracegate/config"
)

// Router maps model names to backends: "provider/model" names a backend explicitly; otherwise
// the first route whose glob matches wins.
type Router struct {
	backends map[string]*Backend
	order    []*Backend
	routes   []route
}

type route struct {
	glob    config.Glob
	backend *Backend
}

// NewRouter builds backends and routes from the configuration.
func NewRouter(providers []config.Provider, routes []config.Route) (*Router, error) {
	r := &Router{backends: make(map[string]*Backend, len(providers))}
	for _, p := range providers {
		b, err := NewBackend(p)
		if err != nil {
			return nil, err
		}
		r.backends[b.Name] = b
		r.order = append(r.order, b)
	}
	for _, rt := range routes {
		b, ok := r.backends[rt.Provider]
		if !ok {
			return nil, fmt.Errorf("route %q: no provider %q", rt.Match, rt.Provider)
		}
		g, err := config.CompileGlob(rt.Match)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", rt.Match, err)
		}
		r.routes = append(r.routes, route{glob: g, backend: b})
	}
	return r, nil
}

// Target is a resolved model: the backend and the model id to send it.
type Target struct {
	Backend *Backend
	Model   string
}

// Resolve routes model. The error wraps ErrUnsupportedModel when nothing serves it.
func (r *Router) Resolve(model string) (Target, error) {
	if model == "" {
		return Target{}, fmt.Errorf("empty model name: %w", ErrUnsupportedModel)
	}
	if i := strings.IndexByte(model, '/'); i > 0 {
		if b, ok := r.backends[model[:i]]; ok && i+1 < len(model) {
			return Target{Backend: b.forModel(model[i+1:]), Model: model[i+1:]}, nil
		}
	}
	for i := range r.routes {
		if r.routes[i].glob.Match(model) {
			return Target{Backend: r.routes[i].backend.forModel(model), Model: model}, nil
		}
	}
	return Target{}, fmt.Errorf("model %q: %w", model, ErrUnsupportedModel)
}

// Backends returns the configured backends in config order.
func (r *Router) Backends() []*Backend { return r.order }

// Backend returns the backend named name.
func (r *Router) Backend(name string) (*Backend, bool) {
	b, ok := r.backends[name]
	return b, ok
}

// Models returns the routes' patterns that name one model exactly (no wildcards).
func (r *Router) Models() []string {
	var out []string
	for _, rt := range r.routes {
		if rt.glob.Literal() {
			out = append(out, rt.glob.String())
		}
	}
	return out
}
