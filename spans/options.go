package spans

import "time"

// Exporter names accepted in Options.Exporter.
const (
	ExporterOTLP   = "otlp"
	ExporterStdout = "stdout"
	ExporterNone   = "none"
)

// Protocols accepted in Options.Protocol.
const (
	ProtocolHTTP = "http"
	ProtocolGRPC = "grpc"
)

// Defaults applied to a zero Options.
const (
	DefaultServiceName = "tracegate"
	DefaultQueueSize   = 2048
)

// Export tuning. A collector that is slow or gone must cost at most a stalled export goroutine
// (the queue then drops and counts), never a blocked run, and must not hold Shutdown for the
// SDK's default minute of retries.
const (
	maxExportBatch     = 512
	batchDelay         = time.Second
	exportCallTimeout  = 10 * time.Second // one ExportSpans call, the exporter's retries included
	exportRequestLimit = 5 * time.Second  // one HTTP request or gRPC call
	retryInitial       = 500 * time.Millisecond
	retryMaxInterval   = 2 * time.Second
	retryMaxElapsed    = 5 * time.Second
)

// Options configures the recorder (mirrors config's spans section; spans does not import config).
type Options struct {
	Exporter       string            // otlp | stdout | none
	Protocol       string            // http | grpc
	Endpoint       string            // URL; empty = OTEL_EXPORTER_OTLP_* / SDK default
	Headers        map[string]string // extra export headers
	ServiceName    string
	CaptureContent bool
	QueueSize      int // bounded export queue; 0 = default
}

func (o Options) queueSize() int {
	if o.QueueSize > 0 {
		return o.QueueSize
	}
	return DefaultQueueSize
}
