package spans

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

const defaultHTTPTracesPath = "/v1/traces"

// newExporter builds the exporter Options name; nil with no error means "none".
func newExporter(ctx context.Context, o Options) (sdktrace.SpanExporter, error) {
	switch strings.ToLower(o.Exporter) {
	case "", ExporterOTLP:
		return newOTLPExporter(ctx, o)
	case ExporterStdout:
		exp, err := stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
		if err != nil {
			return nil, fmt.Errorf("build stdout span exporter: %w", err)
		}
		return exp, nil
	case ExporterNone:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown span exporter %q: want otlp, stdout or none", o.Exporter)
}

func newOTLPExporter(ctx context.Context, o Options) (sdktrace.SpanExporter, error) {
	var endpoint *url.URL
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("span export endpoint %q must be a URL like http://host:port or https://host:port", o.Endpoint)
		}
		endpoint = u
	}
	switch otlpProtocol(o.Protocol) {
	case ProtocolHTTP:
		if useFastHTTPExporter(endpoint) {
			return newFastHTTPExporter(endpoint, o.Headers), nil
		}
		exp, err := otlptracehttp.New(ctx, httpExporterOptions(o, endpoint)...)
		if err != nil {
			return nil, fmt.Errorf("build otlp/http span exporter: %w", err)
		}
		return exp, nil
	case ProtocolGRPC:
		exp, err := otlptracegrpc.New(ctx, grpcExporterOptions(o, endpoint)...)
		if err != nil {
			return nil, fmt.Errorf("build otlp/grpc span exporter: %w", err)
		}
		return exp, nil
	}
	return nil, fmt.Errorf("unknown span export protocol %q: want http or grpc", o.Protocol)
}

// fastHTTPEnv lists the OTEL_EXPORTER_OTLP_* variables that change what the SDK's OTLP/HTTP
// exporter does even when tracegate names the endpoint: TLS material, compression, protocol
// (e.g. http/json), headers (the SDK sends them when Options.Headers is empty) and timeout.
// The endpoint variables are not listed: WithEndpointURL overrides them.
var fastHTTPEnv = append([]string{
	"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
}, sdkTLSEnv...)

// useFastHTTPExporter reports whether OTLP/HTTP export goes through tracegate's own exporter
// (fastHTTPExporter: direct protobuf encoding, about a fifth of tracegate's CPU under load was
// the SDK exporter's struct copying, reflective marshalling and gzip) rather than the SDK's.
//
// Why only then: the fast exporter implements exactly what tracegate configures (endpoint URL,
// headers, gzip, timeout, retries). Without Options.Endpoint the endpoint, headers and
// timeout come from the OTEL_EXPORTER_OTLP_* variables, whose full semantics (per-signal
// precedence, header decoding, insecure flags) only the SDK implements; and with any variable
// that changes transport or encoding set, the SDK must do the export so that the variable is
// honoured as it is by every other OTel SDK. In those cases nothing changes from before.
func useFastHTTPExporter(endpoint *url.URL) bool {
	return endpoint != nil && !envSet(fastHTTPEnv...)
}

// otlpProtocol resolves the protocol; with none configured, OTEL_EXPORTER_OTLP_*PROTOCOL may
// ask for grpc, as it would for any OTel SDK.
func otlpProtocol(p string) string {
	if p == "" {
		p = firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
		if p != ProtocolGRPC {
			return ProtocolHTTP
		}
	}
	return strings.ToLower(p)
}

func httpExporterOptions(o Options, endpoint *url.URL) []otlptracehttp.Option {
	opts := []otlptracehttp.Option{otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
		Enabled:         true,
		InitialInterval: retryInitial,
		MaxInterval:     retryMaxInterval,
		MaxElapsedTime:  retryMaxElapsed,
	})}
	if endpoint != nil {
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint.String()))
		if endpoint.Path == "" || endpoint.Path == "/" {
			opts = append(opts, otlptracehttp.WithURLPath(defaultHTTPTracesPath))
		}
	}
	if len(o.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(o.Headers))
	}
	compressionFromEnv := endpoint == nil && envSet("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")
	if !compressionFromEnv && !envSet(sdkTLSEnv...) {
		// gzip through tracegate's faster client; the SDK then sends the body as it is.
		return append(opts, otlptracehttp.WithHTTPClient(exportHTTPClient()), otlptracehttp.WithCompression(otlptracehttp.NoCompression))
	}
	if !compressionFromEnv {
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	if endpoint != nil || !envSet("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT") {
		opts = append(opts, otlptracehttp.WithTimeout(exportRequestLimit))
	}
	return opts
}

func grpcExporterOptions(o Options, endpoint *url.URL) []otlptracegrpc.Option {
	opts := []otlptracegrpc.Option{otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{
		Enabled:         true,
		InitialInterval: retryInitial,
		MaxInterval:     retryMaxInterval,
		MaxElapsedTime:  retryMaxElapsed,
	})}
	if endpoint != nil {
		// gRPC has no path; the scheme alone picks plaintext (http) or TLS (https).
		opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint.String()))
	}
	if len(o.Headers) > 0 {
		opts = append(opts, otlptracegrpc.WithHeaders(o.Headers))
	}
	if endpoint != nil || !envSet("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION") {
		opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
	}
	if endpoint != nil || !envSet("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT") {
		opts = append(opts, otlptracegrpc.WithTimeout(exportRequestLimit))
	}
	return opts
}

// newResource names the service: Options.ServiceName when set, else OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES, else "tracegate". Later detectors override earlier ones.
func newResource(ctx context.Context, serviceName string) (*resource.Resource, error) {
	opts := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName)),
		resource.WithFromEnv(),
	}
	if serviceName != "" {
		opts = append(opts, resource.WithAttributes(semconv.ServiceName(serviceName)))
	}
	res, err := resource.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("build span resource: %w", err)
	}
	return res, nil
}

func envSet(names ...string) bool { return firstEnv(names...) != "" }

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return strings.ToLower(v)
		}
	}
	return ""
}
