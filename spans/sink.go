package spans

import (
	"time"

	"github.com/tracegate/tracegate/llm"
)

// Sink keeps a summary of every finished run and every ingested span (the span store, through
// an adapter outside this package). Keep is called from the goroutine that ends the span, so it
// must hand the summary off and return at once: it must never block or fail a run.
//
// The *Summary is valid only until Keep returns: a run's Summary is pooled with the run's
// state and reused by a later run, so a sink copies the fields it keeps and must not keep the
// pointer or the address of a field (&s.Cost). What the fields refer to is the sink's to keep
// as it is: the strings are immutable, and the slices and maps (Tags, Variables, Input,
// InputJSON) are the caller's, never reused by this package.
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

// summarize fills st.sum, the ended run's Summary for the sink.
func (run *Run) summarize(st *runState, e *RunEnd, end time.Time) {
	s := &st.sum
	*s = Summary{
		SpanID:       run.SpanID(),
		TraceID:      run.TraceID(),
		ParentSpanID: run.parentSpanID(),
		Name:         run.rec.runSpanName(&st.info),
		Model:        st.info.Model,
		Slug:         st.info.Slug,
		Version:      st.info.Version,
		Tags:         st.info.Tags,
		UserID:       st.info.UserID,
		SessionID:    st.info.SessionID,
		Start:        st.start,
		Latency:      end.Sub(st.start),
		Cost:         e.Cost,
		Priced:       e.Priced,
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
		s.Variables = st.info.Variables
		s.Input = st.input
		if r := e.Response; r != nil && r.HasText {
			s.Output = r.Text
		}
	}
}
