package registry

import (
	"errors"
	"fmt"

	"github.com/tracegate/tracegate/llm"
)

// ErrNotFound is returned for an unknown slug or version.
var ErrNotFound = errors.New("prompt not found")

// ErrUnavailable is returned when no source could answer and nothing is cached.
var ErrUnavailable = errors.New("prompt registry unavailable")

// errInvalidSlug wraps llm.ErrInvalidRequest: a slug with path characters is the caller's
// mistake, not a missing prompt.
var errInvalidSlug = fmt.Errorf("must be letters, digits, '.', '_' or '-' without '..': %w", llm.ErrInvalidRequest)
