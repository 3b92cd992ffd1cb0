package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// scanReplyCases are bodies on both sides of JSON's grammar, for ScanReply's agreement with
// encoding/json's Valid and with the separate model and usage scans.
var scanReplyCases = []string{
	`{"model":"gpt-4o-mini","usage":{"prompt_tokens":3,"completion_tokens":2}}`,
	`{"model":"a","usage":{"prompt_tokens":1},"model":"b"}`,
	`{"model":"m\u0041","usage":null}`,
	`{"model":5}`, `[]`, `[1,2,{"a":[true,false,null]}]`, `"text"`, `0`, `-0.5e+10`, `  {}  `,
	`{"a":"\"\\\/\b\f\n\r\t\u00e9"}`, `{"k\"ey":1}`, `{"x":1.0E-3}`,
	// invalid
	``, ` `, `nope`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `[1,]`, `[1 2]`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":+1}`, `{"a":tru}`,
	`{"a":"x` + "\n" + `"}`, `{"a":"\x"}`, `{"a":"\u12G4"}`, `{"a":"unterminated}`, `{"a":1}}`,
	`{"a":1} x`, `{"k` + "\t" + `":1}`, `{"a":NaN}`, `{"a":inf}`, `{'a':1}`,
	`{"usage":{"prompt_tokens":1}`,
	"\"\f\\b\"", // a control character before an escape, which fastjson.Validate lets through
}

func TestScanReplyAgreesWithValidAndScans(t *testing.T) {
	bodies := [][]byte{readFixture(t, "plain_text.response.json"), readFixture(t, "tool_call.response.json")}
	for _, c := range scanReplyCases {
		bodies = append(bodies, []byte(c))
	}
	for _, b := range bodies {
		checkScanReply(t, b)
	}
	m, u, ok, err := ScanReply(readFixture(t, "plain_text.response.json"))
	if err != nil || m != "gpt-5.4" || !ok || u.InputTokens != 19 || u.OutputTokens != 10 {
		t.Fatalf("plain_text fixture: %q %+v %v %v", m, u, ok, err)
	}
}

// checkScanReply fails t unless ScanReply accepts exactly what encoding/json's Valid accepts
// and, on a valid body, reads the model and usage ScanModel and ScanUsage read.
func checkScanReply(t *testing.T, b []byte) {
	t.Helper()
	m, u, ok, err := ScanReply(b)
	if valid := json.Valid(b); (err == nil) != valid {
		t.Fatalf("%q: ScanReply error %v, json.Valid %v", b, err, valid)
	}
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: error %v does not wrap ErrMalformed", b, err)
		}
		return
	}
	wu, wok := ScanUsage(b)
	if m != ScanModel(b) || u != wu || ok != wok {
		t.Fatalf("%q: ScanReply %q %+v %v; ScanModel %q, ScanUsage %+v %v", b, m, u, ok, ScanModel(b), wu, wok)
	}
}

// Nesting is bounded: a hostile body is refused without deep recursion.
func TestScanReplyBoundsNesting(t *testing.T) {
	deep := strings.Repeat("[", maxScanDepth+1) + strings.Repeat("]", maxScanDepth+1)
	if _, _, _, err := ScanReply([]byte(deep)); err == nil {
		t.Fatal("accepted nesting past maxScanDepth")
	}
	ok := strings.Repeat("[", maxScanDepth-1) + strings.Repeat("]", maxScanDepth-1)
	if _, _, _, err := ScanReply([]byte(ok)); err != nil {
		t.Fatalf("refused nesting within the bound: %v", err)
	}
}

func FuzzScanReply(f *testing.F) {
	addFixtures(f, ".response.json")
	for _, c := range scanReplyCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if nesting(b) >= maxScanDepth {
			t.Skip("past the nesting bound, which encoding/json does not have")
		}
		checkScanReply(t, b)
	})
}

// nesting is an upper bound of b's bracket depth.
func nesting(b []byte) int {
	return bytes.Count(b, []byte("[")) + bytes.Count(b, []byte("{"))
}
