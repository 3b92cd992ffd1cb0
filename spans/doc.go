// Package spans owns tracegate's OpenTelemetry side: the tracer provider and its resource, OTLP
// (HTTP or gRPC), stdout or no export behind a bounded, counting, batching queue, the wire codec
// for span and trace ids (sp_/tr_ forms and W3C traceparent), and the spans of a run: one SERVER
// run span per run and one CLIENT span per provider attempt, with the GenAI semantic conventions
// of semconv v1.41.0 plus tracegate's cost, prompt and tag attributes.
//
// Linking follows DESIGN.md section 3: ids from the request body win over a traceparent header,
// which wins over a new trace; new traces get 64-bit ids (high 8 bytes zero) so the returned
// traceId keeps the SDK's tr_+16-hex form. Id input is accepted in lowercase hex only, like the
// wire form and W3C Trace Context; an invalid traceparent header is ignored, as W3C requires.
//
// Finish reasons: gen_ai.response.finish_reasons holds the normalised reason (the OpenAI set:
// stop, length, tool_calls, content_filter) so dashboards work across providers; the provider's
// own reason, when it differs, is kept in tracegate.response.finish_reason.raw.
//
// Content (messages, system instructions, tool definitions, output, variable values) is recorded
// only with Options.CaptureContent; variable values then go one attribute per variable,
// tracegate.prompt.variable.<name>, so backends can search them. The package never receives
// request headers or provider keys, and error descriptions are scrubbed of key-shaped tokens.
//
// error.type on an attempt is the provider's error type (or code, or HTTP status as text),
// "cancelled" for context.Canceled (the client went away), "timeout" for deadlines and network
// timeouts, "connection_error", "stream_truncated", "invalid_request", else "_OTHER"; on the run
// span it is the caller-facing code (RunEnd.ErrorType). gen_ai.provider.name maps the provider
// kind: openai, anthropic, gcp.gemini, and tracegate.mock for the built-in mock.
//
// The service name is Options.ServiceName when set, else OTEL_SERVICE_NAME (or service.name in
// OTEL_RESOURCE_ATTRIBUTES), else "tracegate". With Options.Endpoint empty the exporter follows
// the standard OTEL_EXPORTER_OTLP_* variables.
//
// Spans an SDK recorded itself (POST /api/v1/spans) are exported by Ingest as CLIENT spans that
// keep the SDK's span id, in the trace and under the parent the SDK names, backdated by their
// latency; an evaluation of a span is an INTERNAL child span carrying gen_ai.evaluation.*. Both
// go through the same tracer provider and queue as runs. Every finished run and ingested span is
// also reported to the Sink (SetSink) as a Summary, which cmd wires to the span store; a new
// surface that ends its calls through Run is recorded without code of its own.
//
// Nothing here touches the request path beyond building attributes: spans leave through a
// bounded queue drained by one goroutine, a full queue drops and counts, and a dead collector
// only shows up in ExportErrors.
package spans
