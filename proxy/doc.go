// Package proxy is tracegate's inbound side, on fasthttp: routing (server.go), the Tracia run
// API (run.go with its request decoder and result encoder), the prompts API in the Tracia SDKs'
// shapes (prompts.go reads, prompts_write.go creates, updates and deletes, prompts_provider.go
// maps provider kinds onto the SDKs' provider enum), auth (auth.go), and the one place errors
// become HTTP statuses (errors.go).
// ops.go serves /metrics, /healthz and /readyz (exempt from the concurrency limit, open unless
// server.protect_ops); limits.go bounds requests in flight (server.max_concurrent) and keeps
// streams counted until their last byte (streamBody); observe.go reports to the metrics.
// spans_api*.go serve the Tracia spans API (POST/GET /api/v1/spans, evaluations) from the span
// store, and StoreSink (spans_api_sink.go) turns the span recorder's summaries of every finished
// call into store records.
//
// Lifetimes: a *fasthttp.RequestCtx and every byte slice it hands out belong to one handler
// call. Nothing here keeps them past the handler's return; values that must outlive it (span
// attributes, log fields) are copied into strings first.
package proxy
