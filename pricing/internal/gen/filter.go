package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/tracegate/tracegate/pricing/internal/litellm"
)

// filter returns the embedded table built from an upstream price map, one model per line and
// sorted by name so that a regeneration diffs cleanly, and the number of models kept.
func filter(upstream []byte) ([]byte, int, error) {
	var p fastjson.Parser
	root, err := p.ParseBytes(upstream)
	if err != nil {
		return nil, 0, fmt.Errorf("parse: %w", err)
	}
	models, err := root.Object()
	if err != nil {
		return nil, 0, fmt.Errorf("top level: %w", err)
	}
	entries := map[string][]byte{}
	var badName []byte
	models.Visit(func(name []byte, v *fastjson.Value) {
		if entry, ok := keepEntry(v); ok {
			if !utf8.Valid(name) {
				badName = name
			}
			entries[string(name)] = entry
		}
	})
	if badName != nil {
		return nil, 0, fmt.Errorf("model name %q is not valid UTF-8", badName)
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	slices.Sort(names)

	out := []byte("{\n")
	for i, name := range names {
		quoted, err := json.Marshal(name)
		if err != nil {
			return nil, 0, fmt.Errorf("model %q: %w", name, err)
		}
		out = append(out, quoted...)
		out = append(out, ": "...)
		out = append(out, entries[name]...)
		if i < len(names)-1 {
			out = append(out, ',')
		}
		out = append(out, '\n')
	}
	out = append(out, "}\n"...)
	return out, len(names), nil
}

// keepEntry returns the trimmed entry when it is a chat or embedding model with a token price.
func keepEntry(v *fastjson.Value) ([]byte, bool) {
	entry, err := v.Object()
	if err != nil {
		return nil, false
	}
	mode := v.GetStringBytes("mode")
	if !litellm.PricedMode(string(mode)) {
		return nil, false
	}
	priced := false
	out := []byte{'{'}
	entry.Visit(func(key []byte, field *fastjson.Value) {
		k := string(key)
		rate, above, isRate := litellm.ParseRateKey(k)
		if !isRate && k != "litellm_provider" && k != "mode" {
			return
		}
		if isRate && above == 0 && (rate == litellm.Input || rate == litellm.Output) && isPositive(field) {
			priced = true
		}
		if len(out) > 1 {
			out = append(out, ", "...)
		}
		out = strconv.AppendQuote(out, k)
		out = append(out, ": "...)
		out = field.MarshalTo(out)
	})
	if !priced {
		return nil, false
	}
	return append(out, '}'), true
}

func isPositive(v *fastjson.Value) bool {
	if v.Type() != fastjson.TypeNumber {
		return false
	}
	f, err := strconv.ParseFloat(string(v.MarshalTo(nil)), 64)
	return err == nil && f > 0
}
