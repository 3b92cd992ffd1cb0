package pricing

import (
	"fmt"
	"math"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/tracegate/tracegate/pricing/internal/litellm"
)

// Parse reads a price table in the LiteLLM JSON format: one object keyed by model id. Entries
// that are not chat or embedding models (by "mode"; an entry without one is taken as chat;
// embedding models are only priced by EmbeddingCost), or that have
// no input or output token rate, are left out and so unpriced. Implausible data is reported
// by Warnings rather than failing the load; an entry with a negative, non-finite or
// non-numeric rate is left out (unpriced) with a warning, as a guess would mis-bill.
func Parse(data []byte) (*Table, error) {
	var p fastjson.Parser
	root, err := p.ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("parse price table: %w", err)
	}
	entries, err := root.Object()
	if err != nil {
		return nil, fmt.Errorf("parse price table: top level: %w", err)
	}
	t := newTable(entries.Len())
	var number []byte
	entries.Visit(func(key []byte, v *fastjson.Value) {
		name := string(key)
		if v.Type() != fastjson.TypeObject {
			return
		}
		mode := string(v.GetStringBytes("mode"))
		if mode != "" && !litellm.PricedMode(mode) {
			return
		}
		var e rawEntry
		var bad string
		v.GetObject().Visit(func(key []byte, rate *fastjson.Value) {
			field, above, ok := litellm.ParseRateKey(string(key))
			if !ok || bad != "" {
				return
			}
			if rate.Type() != fastjson.TypeNumber {
				bad = fmt.Sprintf("%s is not a number", key)
				return
			}
			// strconv rounds correctly; fastjson's own float parsing can be off by an ulp.
			number = rate.MarshalTo(number[:0])
			f, err := strconv.ParseFloat(string(number), 64)
			if err != nil && !math.IsInf(f, 0) {
				bad = fmt.Sprintf("%s: %v", key, err)
				return
			}
			e.level(above).set(field, f)
		})
		if bad == "" {
			bad = e.invalid()
		}
		if bad != "" {
			t.warnings = append(t.warnings, fmt.Sprintf("model %q: %s, left unpriced", name, bad))
			return
		}
		price := e.resolve()
		if price.InputPerToken == 0 && price.OutputPerToken == 0 {
			return
		}
		t.warnings = append(t.warnings, implausible(name, &price)...)
		if mode == litellm.EmbeddingMode {
			t.embeddingModels()[name] = &price
			return
		}
		t.models[name] = &price
	})
	return t, nil
}
