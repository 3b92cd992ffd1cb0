package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// readyFor is how long a reachability answer stays good: /readyz is polled every few seconds
// by every load balancer and kubelet, and must not turn each poll into an upstream request.
const readyFor = 5 * time.Second

// Ready reports whether runs can be served from this source: its cache holds at least one
// prompt (warm), or the upstream registry answers. Any HTTP answer below 500 counts as
// reachable, a 401 included: with pass_caller_key there is no key to probe with, and the
// registry answering at all is what matters here.
func (c *Cache) Ready(ctx context.Context) error {
	c.mu.Lock()
	warm := false
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if el.Value.(*cacheEntry).prompt != nil {
			warm = true
			break
		}
	}
	c.mu.Unlock()
	if warm {
		return nil
	}
	return c.upstream.reachable(ctx)
}

// probe remembers the last reachability answer of an HTTP source.
type probe struct {
	mu      sync.Mutex
	checked time.Time
	err     error
}

// reachable asks the upstream's prompt list, at most once per readyFor.
func (s *HTTPSource) reachable(ctx context.Context) error {
	s.probe.mu.Lock()
	defer s.probe.mu.Unlock()
	if !s.probe.checked.IsZero() && time.Since(s.probe.checked) < readyFor {
		return s.probe.err
	}
	s.probe.err = s.ping(ctx)
	s.probe.checked = time.Now()
	return s.probe.err
}

func (s *HTTPSource) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := s.newRequest(ctx, "/api/v1/prompts", "")
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("prompt registry %s unreachable: %w", s.host, s.transportError(ctx, err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= http.StatusInternalServerError {
		return fmt.Errorf("prompt registry %s answers %d: %w", s.host, resp.StatusCode, ErrUnavailable)
	}
	return nil
}
