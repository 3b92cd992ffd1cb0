package spans

import (
	"errors"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func FuzzParseTraceID(f *testing.F) {
	for _, s := range []string{"tr_9a0b1c2d3e4f5a6b", "tr_0af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319c",
		"tr_0000000000000000", "tr_9A0B1C2D3E4F5A6B", "", "tr_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseTraceID(s)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		if !id.IsValid() {
			t.Fatalf("accepted invalid id from %q", s)
		}
		wire := FormatTraceID(id)
		back, err := ParseTraceID(wire)
		if err != nil || back != id {
			t.Fatalf("round trip %q -> %q -> %v, %v", s, wire, back, err)
		}
		if s != wire && s != "tr_"+id.String() && s != id.String() {
			t.Fatalf("accepted %q, which is none of the wire forms of %v", s, id)
		}
	})
}

func FuzzParseSpanID(f *testing.F) {
	for _, s := range []string{"sp_6f1c0b9a2d4e8f10", "6f1c0b9a2d4e8f10", "sp_0000000000000000", "sp_6F1C0B9A2D4E8F10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSpanID(s)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		wire := FormatSpanID(id)
		if !id.IsValid() || (s != wire && s != id.String()) {
			t.Fatalf("accepted %q as %v (wire %q)", s, id, wire)
		}
		if back, err := ParseSpanID(wire); err != nil || back != id {
			t.Fatalf("round trip %q -> %v, %v", wire, back, err)
		}
	})
}

func FuzzParseTraceparent(f *testing.F) {
	for _, s := range []string{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
		"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseTraceparent(s)
		if err != nil {
			if !errors.Is(err, llm.ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			return
		}
		if !sc.IsValid() || !sc.IsRemote() {
			t.Fatalf("accepted %q as invalid or local %v", s, sc)
		}
		back, err := ParseTraceparent(FormatTraceparent(sc))
		if err != nil || !back.Equal(sc) {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}
