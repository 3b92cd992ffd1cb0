package pricing

import (
	_ "embed"
	"fmt"
	"sync"
)

//go:generate go run ./internal/gen -in ${LITELLM_PRICES} -out data.json

// embeddedData is LiteLLM's price map trimmed to chat and embedding models and the rates tracegate reads
// (built by internal/gen; MIT licensed, see NOTICE.md).
//
//go:embed data.json
var embeddedData []byte

var embedded = sync.OnceValues(func() (*Table, error) {
	t, err := Parse(embeddedData)
	if err != nil {
		return nil, fmt.Errorf("embedded price table: %w", err)
	}
	return t, nil
})

// Embedded returns the table compiled into the binary, parsed on first use. Every call returns
// the same immutable table.
func Embedded() (*Table, error) { return embedded() }
