package spans

import (
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// OperationEmbeddings is RunStart.Operation and AttemptStart.Operation for embeddings calls:
// spans are named "embeddings {model}" with gen_ai.operation.name=embeddings.
const OperationEmbeddings = "embeddings"

// AttrUsageEstimated marks gen_ai.usage.input_tokens as tracegate's estimate: the provider
// reported no usage (Gemini's embedding API), and the cost is priced from the estimate.
const AttrUsageEstimated = "tracegate.usage.estimated"

// operationOf gives the span name prefix and gen_ai.operation.name of an operation; "" is chat.
func operationOf(op string) (string, attribute.KeyValue) {
	if op == OperationEmbeddings {
		return OperationEmbeddings, semconv.GenAIOperationNameEmbeddings
	}
	return "chat", semconv.GenAIOperationNameChat
}

// SetEmbeddings records what an embeddings run returned: the vector length
// (gen_ai.embeddings.dimension.count) when known, and whether its usage is an estimate.
func (run *Run) SetEmbeddings(dimensions int, usageEstimated bool) {
	if dimensions > 0 {
		run.addAttributes(semconv.GenAIEmbeddingsDimensionCount(dimensions))
	}
	if usageEstimated {
		run.addAttributes(attribute.Bool(AttrUsageEstimated, true))
	}
}
