package spans

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracegate/tracegate/llm"
	"go.opentelemetry.io/otel/trace"
)

func TestParseTraceID(t *testing.T) {
	full := trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	short := trace.TraceID{8: 0x9a, 9: 0x0b, 10: 0x1c, 11: 0x2d, 12: 0x3e, 13: 0x4f, 14: 0x5a, 15: 0x6b}
	valid := map[string]trace.TraceID{
		"tr_9a0b1c2d3e4f5a6b":                 short,
		"tr_0af7651916cd43dd8448eb211c80319c": full,
		"0af7651916cd43dd8448eb211c80319c":    full,
		"tr_00000000000000009a0b1c2d3e4f5a6b": short,
	}
	for in, want := range valid {
		got, err := ParseTraceID(in)
		if err != nil || got != want {
			t.Errorf("ParseTraceID(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	invalid := []string{
		"", "tr_", "9a0b1c2d3e4f5a6b", // bare 16 hex is not in the contract
		"tr_9A0B1C2D3E4F5A6B", "0AF7651916CD43DD8448EB211C80319C",
		"tr_9a0b1c2d3e4f5a6", "tr_9a0b1c2d3e4f5a6b0", "tr_9a0b1c2d3e4f5a6g",
		"sp_9a0b1c2d3e4f5a6b", "TR_9a0b1c2d3e4f5a6b", " tr_9a0b1c2d3e4f5a6b",
		"tr_0000000000000000", "00000000000000000000000000000000",
		"0af7651916cd43dd-448eb211c80319c", "tr_" + strings.Repeat("a", 1000),
	}
	for _, in := range invalid {
		_, err := ParseTraceID(in)
		if !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("ParseTraceID(%q) error = %v, want one wrapping ErrInvalidRequest", in, err)
			continue
		}
		if !strings.Contains(err.Error(), "traceId") || len(err.Error()) > 200 {
			t.Errorf("ParseTraceID(%q) error %q should name traceId and stay short", in, err)
		}
	}
}

func TestParseSpanID(t *testing.T) {
	want := trace.SpanID{0x6f, 0x1c, 0x0b, 0x9a, 0x2d, 0x4e, 0x8f, 0x10}
	for _, in := range []string{"sp_6f1c0b9a2d4e8f10", "6f1c0b9a2d4e8f10"} {
		got, err := ParseSpanID(in)
		if err != nil || got != want {
			t.Errorf("ParseSpanID(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "sp_", "sp_6F1C0B9A2D4E8F10", "sp_6f1c0b9a2d4e8f1", "sp_6f1c0b9a2d4e8f100",
		"tr_6f1c0b9a2d4e8f10", "sp_0000000000000000", "0000000000000000", "6f1c0b9a2d4e8f1x", "6f1c0b9a2d4e8f106f1c0b9a2d4e8f10"} {
		if _, err := ParseSpanID(in); !errors.Is(err, llm.ErrInvalidRequest) || !strings.Contains(err.Error(), "parentSpanId") {
			t.Errorf("ParseSpanID(%q) error = %v, want ErrInvalidRequest naming parentSpanId", in, err)
		}
	}
}

func TestFormatIDs(t *testing.T) {
	short := trace.TraceID{15: 0x01}
	if got := FormatTraceID(short); got != "tr_0000000000000001" {
		t.Errorf("FormatTraceID(64-bit) = %q", got)
	}
	full := trace.TraceID{0: 0x01, 15: 0xff}
	if got := FormatTraceID(full); got != "tr_010000000000000000000000000000ff" {
		t.Errorf("FormatTraceID(128-bit) = %q", got)
	}
	if got := FormatSpanID(trace.SpanID{0xab, 1, 2, 3, 4, 5, 6, 0xcd}); got != "sp_ab010203040506cd" {
		t.Errorf("FormatSpanID = %q", got)
	}
}

func TestParseTraceparent(t *testing.T) {
	const h = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	sc, err := ParseTraceparent(h)
	if err != nil {
		t.Fatalf("ParseTraceparent: %v", err)
	}
	if sc.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" || sc.SpanID().String() != "b7ad6b7169203331" ||
		!sc.IsSampled() || !sc.IsRemote() {
		t.Errorf("parsed %v, want the header's ids, sampled, remote", sc)
	}
	if got := FormatTraceparent(sc); got != h {
		t.Errorf("FormatTraceparent = %q, want %q", got, h)
	}
	unsampled, err := ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
	if err != nil || unsampled.IsSampled() {
		t.Errorf("flags 00: %v sampled=%v, want unsampled", err, unsampled.IsSampled())
	}
	other, err := ParseTraceparent("\t00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff ")
	if err != nil || other.TraceFlags() != trace.FlagsSampled {
		t.Errorf("flags ff: %v flags=%v, want only the sampled bit kept", err, other.TraceFlags())
	}
	future, err := ParseTraceparent("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds")
	if err != nil || future.TraceID() != sc.TraceID() {
		t.Errorf("future version: %v, want parsed by its 00 prefix", err)
	}
	for _, bad := range []string{
		"",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"0x-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
		"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
	} {
		if _, err := ParseTraceparent(bad); !errors.Is(err, llm.ErrInvalidRequest) {
			t.Errorf("ParseTraceparent(%q) error = %v, want ErrInvalidRequest", bad, err)
		}
	}
}

func TestIDGeneratorMakes64BitTraces(t *testing.T) {
	var gen idGenerator
	seen := map[trace.TraceID]bool{}
	for range 100 {
		tid, sid := gen.NewIDs(t.Context())
		if !tid.IsValid() || !sid.IsValid() || !isShortTraceID(tid) {
			t.Fatalf("NewIDs = %v %v, want valid ids with a 64-bit trace id", tid, sid)
		}
		if seen[tid] {
			t.Fatalf("trace id %v repeated", tid)
		}
		seen[tid] = true
	}
	want := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	if tid, _ := gen.NewIDs(withWantedTraceID(t.Context(), want)); tid != want {
		t.Errorf("NewIDs with a wanted trace id = %v, want %v", tid, want)
	}
}
