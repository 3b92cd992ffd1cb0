package openai

import "testing"

func TestUnquote(t *testing.T) {
	cases := map[string]string{
		`plain`:              "plain",
		`a\"b\\c\/d`:         `a"b\c/d`,
		`\n\r\t\b\f`:         "\n\r\t\b\f",
		`\u00e9\ud83d\ude00`: "é😀",
		`\ud83d`:             "\uFFFD",
		`\ud83dx`:            "\uFFFDx",
		`\ud83d\u0041`:       "\uFFFDA",
	}
	for in, want := range cases {
		got, ok := unquote([]byte(in))
		if !ok || got != want {
			t.Errorf("unquote(%s) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{`\`, `\x`, `\u12`, `\u12g4`} {
		if _, ok := unquote([]byte(bad)); ok {
			t.Errorf("unquote(%s) accepted", bad)
		}
	}
}
