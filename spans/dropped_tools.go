package spans

import "go.opentelemetry.io/otel/attribute"

// AttrDroppedTools lists the tools a request declared that its target could not run (hosted
// tools of the Responses API sent to a translated provider): they were left out of the call,
// and the span says so rather than the caller getting a 400.
const AttrDroppedTools = "tracegate.request.dropped_tools"

// SetDroppedTools records the tools left out of the call; nothing when there are none.
func (run *Run) SetDroppedTools(names []string) {
	if len(names) > 0 {
		run.addAttributes(attribute.StringSlice(AttrDroppedTools, names))
	}
}
