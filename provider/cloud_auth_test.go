package provider

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBearerTokensShareOneFetch(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	tokens := &bearerTokens{provider: "p", hint: "h", fetch: func(context.Context) (string, time.Time, error) {
		fetches.Add(1)
		<-release
		return "tok-1", time.Now().Add(time.Hour), nil
	}}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := tokens.get(context.Background())
			if err == nil && tok != "tok-1" {
				err = errors.New("token " + tok)
			}
			errs <- err
		}()
	}
	// Let the callers pile up behind the first fetch, then let it answer.
	for tokens.inflightFor() == nil {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 20 callers, want 1", n)
	}
}

func TestBearerTokensCallerMayStopWaiting(t *testing.T) {
	release := make(chan struct{})
	var fetches atomic.Int32
	tokens := &bearerTokens{provider: "p", hint: "h", fetch: func(context.Context) (string, time.Time, error) {
		fetches.Add(1)
		<-release
		return "tok-2", time.Now().Add(time.Hour), nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := tokens.get(ctx); done <- err }()
	for tokens.inflightFor() == nil {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled caller got %v", err)
	}
	close(release) // the fetch finishes for whoever asks next
	if tok, err := tokens.get(context.Background()); err != nil || tok != "tok-2" || fetches.Load() != 1 {
		t.Errorf("next caller: %q %v after %d fetches", tok, err, fetches.Load())
	}
}

func TestBearerTokensRefreshBeforeExpiry(t *testing.T) {
	n, life := 0, time.Minute
	tokens := &bearerTokens{provider: "p", hint: "h", fetch: func(context.Context) (string, time.Time, error) {
		n++
		return "tok", time.Now().Add(life), nil
	}}
	// A token within the refresh margin of its expiry is not reused.
	for range 3 {
		if _, err := tokens.get(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n != 3 {
		t.Errorf("%d fetches of short-lived tokens for 3 calls, want 3", n)
	}
	life = time.Hour
	for range 3 {
		tokens.get(context.Background())
	}
	if n != 4 {
		t.Errorf("%d fetches, want one more: an hour-long token is reused", n)
	}
}

func TestBearerTokensFailureIsAMissingKey(t *testing.T) {
	tokens := &bearerTokens{provider: "p", hint: "set X", fetch: func(context.Context) (string, time.Time, error) {
		return "", time.Time{}, errors.New("invalid_client: secret sk-live-0123456789abcdef rejected")
	}}
	_, err := tokens.get(context.Background())
	var mk *MissingKeyError
	if !errors.As(err, &mk) || mk.Var != "set X" {
		t.Fatalf("err %v", err)
	}
	if got := err.Error(); !strings.Contains(got, "[REDACTED]") || strings.Contains(got, "sk-live") {
		t.Errorf("secret in %q", got)
	}
}

// inflightFor is the fetch in progress, for tests that wait for one to start.
func (t *bearerTokens) inflightFor() chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inflight
}
