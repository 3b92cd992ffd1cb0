package spans

import (
	"context"
	"testing"

	"github.com/tracegate/tracegate/llm"
)

func TestEmbeddingsSpans(t *testing.T) {
	rec, exp := newSyncRecorder(t, Options{})
	_, run, err := rec.StartRun(context.Background(), RunStart{Name: "embeddings gemini-embedding-001", Model: "gemini-embedding-001", Operation: OperationEmbeddings})
	if err != nil {
		t.Fatal(err)
	}
	att := run.StartAttempt(AttemptStart{ProviderName: "google", ProviderKind: "gemini", Model: "gemini-embedding-001", Operation: OperationEmbeddings})
	resp := &llm.Response{Model: "gemini-embedding-001", Usage: llm.Usage{InputTokens: 9, Known: true}}
	att.End(resp, nil)
	run.SetEmbeddings(768, true)
	run.End(RunEnd{Response: resp, Cost: 1.35e-06, Priced: true})
	chat := run.rec // a chat attempt of another run keeps its name and operation
	_, run2, _ := chat.StartRun(context.Background(), RunStart{Model: "gpt-4o"})
	run2.StartAttempt(AttemptStart{ProviderKind: "openai", Model: "gpt-4o"}).End(nil, nil)
	run2.End(RunEnd{})

	byKind := map[string]map[string]any{}
	for _, s := range exp.GetSpans() {
		byKind[s.Name+"/"+s.SpanKind.String()] = attrMap(s.Attributes)
	}
	runAttrs := byKind["embeddings gemini-embedding-001/server"]
	if runAttrs["gen_ai.operation.name"] != "embeddings" || runAttrs["gen_ai.embeddings.dimension.count"] != int64(768) ||
		runAttrs[AttrUsageEstimated] != true || runAttrs["gen_ai.usage.input_tokens"] != int64(9) || runAttrs[AttrCost] != 1.35e-06 {
		t.Errorf("run span %v", runAttrs)
	}
	attempt := byKind["embeddings gemini-embedding-001/client"]
	if attempt["gen_ai.operation.name"] != "embeddings" || attempt["gen_ai.response.model"] != "gemini-embedding-001" {
		t.Errorf("attempt span %v", attempt)
	}
	if a := byKind["chat gpt-4o/client"]; a["gen_ai.operation.name"] != "chat" {
		t.Errorf("chat attempt %v", a)
	}
	if _, ok := byKind["chat gpt-4o/server"]["gen_ai.operation.name"]; ok {
		t.Error("a chat run span gained an operation name it never had")
	}
}
