package anthropic

import (
	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
)

// Extended thinking from the canonical ReasoningConfig. A token budget is sent as it is; an
// effort (OpenAI's scale) maps onto a budget. Anthropic's limits shape the rest: the budget is
// at least minThinkingBudget and below max_tokens, thinking cannot be combined with a forced
// tool, and it fixes temperature and top_k (so those are not sent while it is on).
const minThinkingBudget = 1024

var effortBudgets = map[string]int{
	"minimal": minThinkingBudget,
	"low":     2048,
	"medium":  8192,
	"high":    16384,
	"xhigh":   32768,
}

// EffortBudget is the Claude thinking budget for an effort on OpenAI's scale (0 for an
// unknown one), at least MinThinkingBudget: the one table every Claude route uses (Bedrock's
// and Vertex's Claude too).
func EffortBudget(effort string) int { return effortBudgets[effort] }

// MinThinkingBudget is the smallest thinking budget Claude accepts.
const MinThinkingBudget = minThinkingBudget

// thinkingPlan is the thinking setting of one request.
type thinkingPlan struct {
	budget    int  // > 0: thinking enabled with this budget
	disabled  bool // thinking explicitly off
	maxTokens int  // max_tokens to send
}

// planThinking decides thinking and max_tokens together. A caller's max tokens, as with
// OpenAI's max_output_tokens, caps reasoning and answer together, so the budget is cut below
// it, and thinking dropped when less than the minimum budget is left; without a cap the
// answer keeps DefaultMaxTokens on top of the budget.
func planThinking(req *llm.Request, forcedTool bool) thinkingPlan {
	p := thinkingPlan{maxTokens: req.MaxTokens}
	if p.maxTokens <= 0 {
		p.maxTokens = DefaultMaxTokens
	}
	rc := req.Reasoning
	if rc == nil {
		return p
	}
	if rc.Disabled {
		p.disabled = true
		return p
	}
	budget := rc.BudgetTokens
	if budget <= 0 {
		budget = effortBudgets[rc.Effort]
	}
	if budget <= 0 || forcedTool {
		return p
	}
	budget = max(budget, minThinkingBudget)
	if req.MaxTokens > 0 {
		budget = min(budget, req.MaxTokens-1)
		if budget < minThinkingBudget {
			return p
		}
	} else {
		p.maxTokens = budget + DefaultMaxTokens
	}
	p.budget = budget
	return p
}

func (p thinkingPlan) append(dst []byte) []byte {
	switch {
	case p.budget > 0:
		dst = append(dst, `,"thinking":{"type":"enabled","budget_tokens":`...)
		dst = jsonw.Int(dst, int64(p.budget))
		return append(dst, '}')
	case p.disabled:
		return append(dst, `,"thinking":{"type":"disabled"}`...)
	}
	return dst
}
