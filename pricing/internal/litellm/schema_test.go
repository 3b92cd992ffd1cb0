package litellm

import "testing"

func TestParseRateKey(t *testing.T) {
	cases := []struct {
		key   string
		field Field
		above int64
		ok    bool
	}{
		{"input_cost_per_token", Input, 0, true},
		{"output_cost_per_token", Output, 0, true},
		{"cache_read_input_token_cost", CacheRead, 0, true},
		{"input_cost_per_token_cache_hit", CacheHit, 0, true},
		{"cache_creation_input_token_cost", CacheWrite, 0, true},
		{"cache_creation_input_token_cost_above_1hr", CacheWrite1h, 0, true},
		{"output_cost_per_reasoning_token", Reasoning, 0, true},
		{"input_cost_per_token_above_200k_tokens", Input, 200_000, true},
		{"output_cost_per_token_above_128k_tokens", Output, 128_000, true},
		{"cache_read_input_token_cost_above_272k_tokens", CacheRead, 272_000, true},
		{"cache_creation_input_token_cost_above_200k_tokens", CacheWrite, 200_000, true},
		{"cache_creation_input_token_cost_above_1hr_above_200k_tokens", CacheWrite1h, 200_000, true},
		{"input_cost_per_token_above_1m_tokens", Input, 1_000_000, true},
		{"input_cost_per_token_above_200k_tokens_priority", 0, 0, false},
		{"input_cost_per_token_priority", 0, 0, false},
		{"input_cost_per_token_batches", 0, 0, false},
		{"input_cost_per_token_above_0k_tokens", 0, 0, false},
		{"input_cost_per_token_above_k_tokens", 0, 0, false},
		{"input_cost_per_token_above_2x0k_tokens", 0, 0, false},
		{"input_cost_per_audio_token", 0, 0, false},
		{"input_cost_per_character_above_128k_tokens", 0, 0, false},
		{"mode", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		field, above, ok := ParseRateKey(c.key)
		if field != c.field || above != c.above || ok != c.ok {
			t.Errorf("ParseRateKey(%q) = %v, %d, %v; want %v, %d, %v", c.key, field, above, ok, c.field, c.above, c.ok)
		}
	}
}

func TestFieldKeyRoundTrip(t *testing.T) {
	for f := Field(0); f < NumFields; f++ {
		got, above, ok := ParseRateKey(f.Key())
		if !ok || got != f || above != 0 {
			t.Errorf("field %d: key %q parses as %v, %d, %v", f, f.Key(), got, above, ok)
		}
	}
}

func TestChatMode(t *testing.T) {
	for mode, want := range map[string]bool{
		"chat": true, "completion": true, "responses": true,
		"embedding": false, "image_generation": false, "": false, "Chat": false,
	} {
		if got := ChatMode(mode); got != want {
			t.Errorf("ChatMode(%q) = %v, want %v", mode, got, want)
		}
	}
}

func FuzzParseRateKey(f *testing.F) {
	f.Add("input_cost_per_token_above_200k_tokens")
	f.Add("cache_creation_input_token_cost_above_1hr_above_200k_tokens")
	f.Add("output_cost_per_token_above_999999999m_tokens")
	f.Fuzz(func(t *testing.T, key string) {
		field, above, ok := ParseRateKey(key)
		if !ok {
			return
		}
		if field < 0 || field >= NumFields || above < 0 {
			t.Fatalf("ParseRateKey(%q) = %v, %d", key, field, above)
		}
	})
}

func TestPricedMode(t *testing.T) {
	for mode, want := range map[string]bool{
		"chat": true, "completion": true, "responses": true, "embedding": true,
		"image_generation": false, "moderation": false, "": false,
	} {
		if got := PricedMode(mode); got != want {
			t.Errorf("PricedMode(%q) = %v, want %v", mode, got, want)
		}
	}
}
