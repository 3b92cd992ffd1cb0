package spans

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// A caller's huge variable value and thousands of variables do not make a huge span.
// Runs are tracegate's own pooled spans (recorded.go), not the SDK's: the same limits apply.
func TestSpanAttributesAreBounded(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{CaptureContent: true})
	vars := map[string]string{"big": strings.Repeat("x", 4*MaxAttributeValueBytes)}
	for i := 0; i < 5000; i++ {
		vars["v"+strconv.Itoa(i)] = "y"
	}
	_, run, err := rec.StartRun(context.Background(), RunStart{Slug: "s", Variables: vars, Tags: []string{"ok", strings.Repeat("t", 2*MaxAttributeValueBytes)}})
	if err != nil {
		t.Fatal(err)
	}
	run.End(RunEnd{})
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if len(s.Attributes) > MaxAttributesPerSpan {
		t.Fatalf("%d attributes, limit %d", len(s.Attributes), MaxAttributesPerSpan)
	}
	if s.DroppedAttributes == 0 {
		t.Fatal("no attributes counted as dropped")
	}
	sawTags := false
	for _, kv := range s.Attributes {
		if n := len(kv.Value.String()); n > MaxAttributeValueBytes*2 {
			t.Fatalf("attribute %s is %d bytes", kv.Key, n)
		}
		if kv.Key == AttrTags {
			sawTags = true
			tags := kv.Value.AsStringSlice()
			if len(tags) != 2 || tags[0] != "ok" || len(tags[1]) != MaxAttributeValueBytes {
				t.Fatalf("tags not cut at %d bytes each: %d tags", MaxAttributeValueBytes, len(tags))
			}
		}
		if kv.Key == AttrPromptVariableBase+"big" && len(kv.Value.AsString()) != MaxAttributeValueBytes {
			t.Fatalf("big variable is %d bytes, want cut at %d", len(kv.Value.AsString()), MaxAttributeValueBytes)
		}
	}
	if !sawTags {
		t.Fatal("no tags attribute")
	}
}
