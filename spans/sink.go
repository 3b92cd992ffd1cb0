package spans

import (
	"time"

	"github.com/tracegate/tracegate/llm"
)

// Sink keeps a summary of every finished run and every ingested span (the span store, through
// an adapter outside this package). Keep is called from the goroutine that ends the span, so it
// must hand the summary off and return at once: it must never block or fail a run. The
// summary is the sink's to keep.
type Sink interface {
	Keep(s *Summary)
}

// Summary describes one finished span in the terms of the Tracia Span shape. Content fields
// (Input, InputJSON, Output, Variables values) are set only with Options.CaptureContent.
type Summary struct {
	SpanID       string // sp_ + 16 hex
	TraceID      string // tr_ + 16 or 32 hex
	ParentSpanID string // sp_ + 16 hex; "" for a root
	// Kind is the SDK's spanKind for ingested spans (ROOT, LLM, EMBEDDING), "" for runs.
	Kind         string
	Name         string // the span name, e.g. "run welcome-email", "chat gpt-4o"
	Model        string
	ProviderKind string // openai | anthropic | gemini | mock | ... ("" when no attempt started)
	Slug         string
	Version      int
	Tags         []string
	UserID       string
	SessionID    string
	Failed       bool
	Error        string // redacted and bounded; the error code when there is no message
	ErrorType    string
	Start        time.Time
	Latency      time.Duration
	Usage        llm.Usage
	Cost         float64
	Priced       bool

	Variables map[string]string
	Input     []llm.Message // a run's conversation
	InputJSON []byte        // an ingested span's input object as the SDK sent it
	Output    string
}

// AttrGenAIPromptVersion goes with semconv's gen_ai.prompt.name (the slug), which has no
// version constant in v1.41.0; tracegate.prompt.version stays beside it.
const AttrGenAIPromptVersion = "gen_ai.prompt.version"

// sinkBox lets the sink be swapped atomically.
type sinkBox struct{ s Sink }

// SetSink installs the sink that finished runs and ingested spans are reported to; nil
// removes it. Safe to call while serving.
func (r *Recorder) SetSink(s Sink) {
	if s == nil {
		r.sink.Store(nil)
		return
	}
	r.sink.Store(&sinkBox{s})
}

func (r *Recorder) currentSink() Sink {
	if b := r.sink.Load(); b != nil {
		return b.s
	}
	return nil
}

// summary describes the ended run for the sink.
func (run *Run) summary(e *RunEnd) *Summary {
	s := &Summary{
		SpanID:    run.SpanID(),
		TraceID:   run.TraceID(),
		Name:      runSpanName(&run.info),
		Model:     run.info.Model,
		Slug:      run.info.Slug,
		Version:   run.info.Version,
		Tags:      run.info.Tags,
		UserID:    run.info.UserID,
		SessionID: run.info.SessionID,
		Start:     run.start,
		Latency:   time.Since(run.start),
		Cost:      e.Cost,
		Priced:    e.Priced,
	}
	if run.parent.IsValid() {
		s.ParentSpanID = FormatSpanID(run.parent)
	}
	if a := run.latest.Load(); a != nil {
		s.ProviderKind = a.kind
	}
	if r := e.Response; r != nil {
		s.Usage = r.Usage
		if s.Model == "" {
			s.Model = r.Model
		}
	}
	s.ErrorType = e.ErrorType
	if s.ErrorType == "" && e.Err != nil {
		s.ErrorType = errorType(e.Err)
	}
	if s.ErrorType != "" {
		s.Failed = true
		if s.Error = statusDescription(e.Err); s.Error == "" {
			s.Error = s.ErrorType
		}
	}
	if run.rec.opts.CaptureContent {
		s.Variables = run.info.Variables
		s.Input = run.input
		if r := e.Response; r != nil && r.HasText {
			s.Output = r.Text
		}
	}
	return s
}
