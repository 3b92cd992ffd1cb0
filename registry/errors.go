package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/tracegate/tracegate/llm"
)

// ErrNotFound is returned for an unknown slug or version.
var ErrNotFound = errors.New("prompt not found")

// ErrUnavailable is returned when no source could answer and nothing is cached.
var ErrUnavailable = errors.New("prompt registry unavailable")

// ErrTimeout is returned when an upstream registry does not answer within its source's timeout
// and nothing is cached. It wraps context.DeadlineExceeded, which callers already map to a
// timeout (TIMEOUT, 504), so it needs no case of its own.
var ErrTimeout = fmt.Errorf("prompt registry timed out: %w", context.DeadlineExceeded)

// ErrRejected is returned when an upstream registry refuses the key it was sent (401 or 403).
// It wraps ErrUnavailable: the run cannot proceed, but the prompt is not known to be missing,
// so it is neither a 404 nor cached as one.
var ErrRejected = fmt.Errorf("prompt registry rejected the key: %w", ErrUnavailable)

// errInvalidSlug wraps llm.ErrInvalidRequest: a slug with path characters is the caller's
// mistake, not a missing prompt.
var errInvalidSlug = fmt.Errorf("must be letters, digits, '.', '_' or '-' without '..': %w", llm.ErrInvalidRequest)
