package spans

// CapturesContent reports whether the run's spans record message content
// (spans.capture_content): a relay assembles a streamed reply's text for them only then.
func (r *Run) CapturesContent() bool { return r.rec.opts.CaptureContent }
