package provider

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/tracegate/tracegate/llm"
)

// RetryPolicy bounds retries of one model.
type RetryPolicy struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxElapsed bounds all attempts of one request, fallbacks included: no attempt starts
	// after it and no backoff sleeps past it. 0 means no bound.
	MaxElapsed time.Duration
}

// Attempt describes one provider call, for spans and metrics.
type Attempt struct {
	Target   Target
	Number   int  // 1-based, counted per model
	Fallback bool // the model is a fallback, not the one requested
	Stream   bool
	// Operation is the GenAI operation: "" for chat, OperationEmbeddings for embeddings.
	Operation string
}

// AttemptObserver is told when an attempt starts; the function it returns is called once with
// the attempt's outcome. A nil observer is allowed.
type AttemptObserver func(Attempt) (end func(*llm.Response, error))

// Dispatcher sends requests with retries and fallbacks.
type Dispatcher struct {
	router    *Router
	retry     RetryPolicy
	fallbacks map[string][]string
	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewDispatcher returns a dispatcher over router.
func NewDispatcher(router *Router, retry RetryPolicy, fallbacks map[string][]string) *Dispatcher {
	if retry.MaxAttempts < 1 {
		retry.MaxAttempts = 1
	}
	return &Dispatcher{router: router, retry: retry, fallbacks: fallbacks, sleep: sleepCtx}
}

// Router returns the dispatcher's router.
func (d *Dispatcher) Router() *Router { return d.router }

// Resolve routes model as the dispatcher would (its Target names the backend and its kind).
func (d *Dispatcher) Resolve(model string) (Target, error) { return d.router.Resolve(model) }

// Models returns the routes' patterns that name one model exactly.
func (d *Dispatcher) Models() []string { return d.router.Models() }

// AnyConfigured reports whether any backend can be called (has its key, or needs none).
func (d *Dispatcher) AnyConfigured() bool {
	for _, b := range d.router.order {
		if b.Configured() {
			return true
		}
	}
	return false
}

// Result is a completed call.
type Result struct {
	Response *llm.Response
	Target   Target
}

// Complete sends req for model, retrying and falling back as configured. The returned error is
// the last attempt's.
func (d *Dispatcher) Complete(ctx context.Context, model string, req *llm.Request, observe AttemptObserver) (Result, error) {
	var res Result
	err := d.each(ctx, model, false, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		resp, err := complete(ctx, t, req)
		end(resp, err)
		if err == nil {
			res = Result{Response: resp, Target: t}
		}
		return err
	})
	return res, err
}

// Stream opens a stream for model with the same retries and fallbacks, which apply until the
// stream is open. The stream's Finish must be called with its outcome to end the attempt.
func (d *Dispatcher) Stream(ctx context.Context, model string, req *llm.Request, observe AttemptObserver) (*Stream, error) {
	var st *Stream
	err := d.each(ctx, model, true, observe, func(ctx context.Context, t Target, end func(*llm.Response, error)) error {
		s, err := openStream(ctx, t, req)
		if err != nil {
			end(nil, err)
			return err
		}
		s.finish = end
		st = s
		return nil
	})
	return st, err
}

// Finish records the stream's outcome on its attempt. Call it once, with the assembled
// response or the error that ended the stream.
func (s *Stream) Finish(resp *llm.Response, err error) {
	if s.finish != nil {
		s.finish(resp, err)
		s.finish = nil
	}
}

// each runs call for the model and then its fallbacks, retrying each as the policy allows,
// until one succeeds.
func (d *Dispatcher) each(ctx context.Context, model string, stream bool, observe AttemptObserver,
	call func(ctx context.Context, t Target, end func(*llm.Response, error)) error) error {
	fallbacks := d.fallbacks[model]
	var lastErr error
	var deadline time.Time
	if d.retry.MaxElapsed > 0 {
		deadline = time.Now().Add(d.retry.MaxElapsed)
	}
	for i := 0; i <= len(fallbacks); i++ {
		if lastErr != nil && !deadline.IsZero() && !time.Now().Before(deadline) {
			return lastErr // retry.max_elapsed: no fallback starts after it
		}
		m := model
		if i > 0 {
			m = fallbacks[i-1]
		}
		t, err := d.router.Resolve(m)
		if err == nil {
			err = t.Backend.checkKey()
		}
		if err != nil {
			if i == 0 || lastErr == nil {
				lastErr = err
			}
			continue
		}
		for n := 1; ; n++ {
			end := func(*llm.Response, error) {}
			if observe != nil {
				end = observe(Attempt{Target: t, Number: n, Fallback: i > 0, Stream: stream})
			}
			err := call(ctx, t, end)
			if err == nil {
				return nil
			}
			lastErr = err
			if ctx.Err() != nil || !fallbackable(err) {
				return err // the caller left (or its input is at fault): start nothing more
			}
			if n >= d.retry.MaxAttempts || !Retryable(err) {
				break
			}
			wait := d.backoff(n, err)
			if !deadline.IsZero() && time.Now().Add(wait).After(deadline) {
				return lastErr // the next attempt would start past retry.max_elapsed
			}
			if err := d.sleep(ctx, wait); err != nil {
				return lastErr
			}
		}
	}
	return lastErr
}

// Retryable reports whether err is worth repeating the same request for: retryable upstream
// statuses, connection failures and timeouts.
func Retryable(err error) bool {
	switch llm.Classify(err) {
	case llm.FailureUpstream:
		var ue *llm.UpstreamError
		errors.As(err, &ue)
		return ue.Retryable()
	case llm.FailureConnection, llm.FailureTimeout:
		return true
	}
	return false
}

// fallbackable reports whether another model may succeed where this one failed: not when the
// caller's own input is at fault or the caller has gone.
func fallbackable(err error) bool {
	return !errors.Is(err, llm.ErrInvalidRequest) && !errors.Is(err, context.Canceled)
}

// backoff is jittered exponential backoff, or the provider's own hint when it gave one, both
// capped by MaxBackoff.
func (d *Dispatcher) backoff(attempt int, err error) time.Duration {
	var ue *llm.UpstreamError
	if errors.As(err, &ue) && ue.RetryAfter > 0 {
		return min(ue.RetryAfter, d.retry.MaxBackoff)
	}
	base := d.retry.InitialBackoff << (attempt - 1)
	if base <= 0 || base > d.retry.MaxBackoff {
		base = d.retry.MaxBackoff
	}
	if base <= 0 {
		return 0
	}
	// Equal jitter: half fixed, half random, so retries spread without collapsing to zero.
	return base/2 + time.Duration(rand.Int64N(int64(base/2)+1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
