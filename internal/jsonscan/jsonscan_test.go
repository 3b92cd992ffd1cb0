package jsonscan

import (
	"strings"
	"testing"
)

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
		got, ok := Unquote([]byte(in))
		if !ok || got != want {
			t.Errorf("Unquote(%s) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{`\`, `\x`, `\u12`, `\u12g4`} {
		if _, ok := Unquote([]byte(bad)); ok {
			t.Errorf("Unquote(%s) accepted", bad)
		}
	}
}

func TestObjectMembers(t *testing.T) {
	body := []byte(` {"a": 1, "b\u0063": {"x":[1,{"y":"}"}]}, "s":"q\"}", "n":null} `)
	s, ok := NewObject(body, 0)
	if !ok {
		t.Fatal("no object found")
	}
	var got []string
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		got = append(got, string(m.Key)+"="+string(body[m.Start:m.End]))
	}
	want := `a=1|b\u0063={"x":[1,{"y":"}"}]}|s="q\"}"|n=null`
	if strings.Join(got, "|") != want || s.Failed() {
		t.Fatalf("members %q (failed %v), want %q", strings.Join(got, "|"), s.Failed(), want)
	}
	if s.Open() != 1 || body[s.Close()] != '}' || !s.Finish() {
		t.Fatalf("braces at %d and %d, finish %v", s.Open(), s.Close(), s.Finish())
	}
	if !KeyIs([]byte(`b\u0063`), "bc") || KeyIs([]byte("b"), "bc") {
		t.Error("KeyIs does not compare unescaped keys")
	}
}

func TestObjectRejectsMalformed(t *testing.T) {
	deep := `{"d":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}`
	for _, bad := range []string{
		`{"a" 1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":[1,2}`, `{"a":"open}`, `{a:1}`, `{"a":}`,
		`{"a":1}x`, `{"a":1`, deep,
	} {
		s, ok := NewObject([]byte(bad), 0)
		if !ok {
			t.Errorf("%s: no object found", bad)
			continue
		}
		if s.Finish() {
			t.Errorf("%.40s: accepted", bad)
		}
	}
	for _, notObject := range []string{``, `   `, `[1]`, `"s"`} {
		if _, ok := NewObject([]byte(notObject), 0); ok {
			t.Errorf("%q: taken for an object", notObject)
		}
	}
}

func TestSeen(t *testing.T) {
	var s Seen
	if !s.First(0) || !s.First(63) || !s.First(5) {
		t.Fatal("a first meeting reported as a repeat")
	}
	if s.First(0) || s.First(63) || s.First(5) {
		t.Fatal("a repeat reported as a first meeting")
	}
	if !s.First(6) {
		t.Fatal("member 6 was never met")
	}
}
