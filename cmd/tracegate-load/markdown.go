package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// targetCheck is one DESIGN.md section 9 target against this run's numbers.
type targetCheck struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	// Verdict is pass, fail, mixed (the interleaved rounds disagree: the machine's noise is
	// larger than the margin), n/a (not measured) or info (no threshold).
	Verdict string `json:"verdict"`
}

// Thresholds from DESIGN.md section 9.
const (
	targetAddedP50US      = 50
	targetThroughputRatio = 0.35
	targetRunAPICPURatio  = 1.3
	targetAddedTTFBUS     = 100
	targetIdleRSSKB       = 50 * 1024

	// Against the null gateway in the same run (DESIGN.md section 9, issue 16).
	targetVsNullThroughput       = 0.80
	targetVsNullRunAPIThroughput = 0.75
	targetVsNullAddedP50US       = 10
	targetVsNullP99Ratio         = 1.5
	targetVsNullAddedTTFBUS      = 30
)

// measurement is a target's measured text, whether it meets the target, and whether the
// rounds disagree about that.
type measurement struct {
	text      string
	ok, mixed bool
}

func verdictOf(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// pairedRounds is f of round i of a and round i of b for every round both measured (values
// below 0 are failed rounds), or nil when fewer than two rounds pair up.
func pairedRounds(a, b []float64, f func(a, b float64) float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if a[i] >= 0 && b[i] > 0 {
			out = append(out, f(a[i], b[i]))
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

func findPhase(results []phaseResult, name string, conc int) *phaseResult {
	for i := range results {
		if r := &results[i]; r.Phase == name && r.Concurrency == conc && r.Error == "" && r.Summary != nil {
			return r
		}
	}
	return nil
}

func checkTargets(rep *compareReport, chunkDelay time.Duration) []targetCheck {
	var out []targetCheck
	check := func(target string, ok bool, measured string) {
		out = append(out, targetCheck{Target: target, Measured: measured, Verdict: verdictOf(ok)})
	}
	notMeasured := func(target, why string) {
		out = append(out, targetCheck{Target: target, Measured: why, Verdict: "n/a"})
	}

	// vsNull checks a target against the null gateway of the same run, which has already paid
	// the extra loopback hop any gateway pays: tracegate's own share. measure returns the
	// measured text and whether it meets the target, or "" when the numbers are missing.
	vsNull := func(target, phase string, conc int, measure func(r, null *phaseResult) measurement) {
		r, null := findPhase(rep.Phases, phase, conc), findPhase(rep.Phases, nullPhaseFor(phase), conc)
		if r != nil && null != nil {
			if m := measure(r, null); m.text != "" {
				v := verdictOf(m.ok)
				if m.mixed {
					v = "mixed"
				}
				out = append(out, targetCheck{Target: target, Measured: m.text, Verdict: v})
				return
			}
		}
		notMeasured(target, fmt.Sprintf("needs %s and %s at c=%d", phase, nullPhaseFor(phase), conc))
	}
	// byRound adds every round's own value to a verdict on the median rounds, and makes it
	// mixed when the rounds do not all agree with it.
	byRound := func(text string, ok bool, rounds []float64, format func(float64) string, pass func(float64) bool) measurement {
		m := measurement{text: text, ok: ok}
		if len(rounds) < 2 {
			return m
		}
		cells := make([]string, len(rounds))
		for i, v := range rounds {
			cells[i] = format(v)
			m.mixed = m.mixed || pass(v) != ok
		}
		m.text += " (rounds: " + strings.Join(cells, ", ") + ")"
		return m
	}
	throughputVsNull := func(least float64) func(r, null *phaseResult) measurement {
		return func(r, null *phaseResult) measurement {
			if r.ThroughputRatioVsNull == nil {
				return measurement{}
			}
			pct := func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }
			return byRound(pct(*r.ThroughputRatioVsNull), *r.ThroughputRatioVsNull >= least,
				pairedRounds(r.RoundsRPS, null.RoundsRPS, func(a, b float64) float64 { return a / b }),
				pct, func(v float64) bool { return v >= least })
		}
	}
	added := func(a, b float64) float64 { return a - b }
	micro := func(v float64) string { return fmt.Sprintf("%+.1f µs", v) }

	vsNull(fmt.Sprintf("passthrough, c=1: added median latency over the null gateway <= %d µs", targetVsNullAddedP50US), "passthrough", 1,
		func(r, null *phaseResult) measurement {
			if r.AddedP50VsNullUS == nil {
				return measurement{}
			}
			return byRound(micro(*r.AddedP50VsNullUS), *r.AddedP50VsNullUS <= targetVsNullAddedP50US,
				pairedRounds(r.RoundsP50US, null.RoundsP50US, added), micro, func(v float64) bool { return v <= targetVsNullAddedP50US })
		})
	vsNull(fmt.Sprintf("passthrough, c=1: p99 within %.1fx of the null gateway's", targetVsNullP99Ratio), "passthrough", 1,
		func(r, null *phaseResult) measurement {
			if null.Summary.LatencyUS.P99 <= 0 {
				return measurement{}
			}
			ratio := r.Summary.LatencyUS.P99 / null.Summary.LatencyUS.P99
			return measurement{text: fmt.Sprintf("%.2fx (%s vs %s)", ratio, formatMicros(r.Summary.LatencyUS.P99), formatMicros(null.Summary.LatencyUS.P99)),
				ok: ratio <= targetVsNullP99Ratio}
		})
	vsNull(fmt.Sprintf("passthrough, c=16: throughput >= %.0f%% of the null gateway's", targetVsNullThroughput*100), "passthrough", 16,
		throughputVsNull(targetVsNullThroughput))
	vsNull(fmt.Sprintf("run API, c=16: throughput >= %.0f%% of the null gateway's", targetVsNullRunAPIThroughput*100), "run-api", 16,
		throughputVsNull(targetVsNullRunAPIThroughput))
	vsNull(fmt.Sprintf("streaming, c=1: added time to first byte over the null gateway <= %d µs", targetVsNullAddedTTFBUS), "passthrough-stream", 1,
		func(r, null *phaseResult) measurement {
			if r.AddedTTFBP50VsNullUS == nil {
				return measurement{}
			}
			return byRound(micro(*r.AddedTTFBP50VsNullUS)+" (p50)", *r.AddedTTFBP50VsNullUS <= targetVsNullAddedTTFBUS,
				pairedRounds(r.RoundsTTFBP50US, null.RoundsTTFBP50US, added), micro, func(v float64) bool { return v <= targetVsNullAddedTTFBUS })
		})

	t := fmt.Sprintf("passthrough, c=1: added median latency < %d µs", targetAddedP50US)
	if r := findPhase(rep.Phases, "passthrough", 1); r != nil && r.AddedP50US != nil {
		check(t, *r.AddedP50US < targetAddedP50US, fmt.Sprintf("%+.1f µs", *r.AddedP50US))
	} else {
		notMeasured(t, "needs passthrough and direct at c=1")
	}
	t = fmt.Sprintf("passthrough, c=16: throughput >= %.0f%% of direct", targetThroughputRatio*100)
	if r := findPhase(rep.Phases, "passthrough", 16); r != nil && r.ThroughputRatio != nil {
		check(t, *r.ThroughputRatio >= targetThroughputRatio, fmt.Sprintf("%.0f%%", *r.ThroughputRatio*100))
	} else {
		notMeasured(t, "needs passthrough and direct at c=16")
	}

	t = fmt.Sprintf("run API CPU per request <= %.1fx passthrough's", targetRunAPICPURatio)
	measured := false
	// The highest concurrency has the most requests, so the 10 ms CPU ticks weigh least there.
	for i := len(rep.Phases) - 1; i >= 0 && !measured; i-- {
		run := &rep.Phases[i]
		if run.Phase != "run-api" || run.CPUPerRequestUS == nil {
			continue
		}
		pass := findPhase(rep.Phases, "passthrough", run.Concurrency)
		if pass == nil || pass.CPUPerRequestUS == nil || *pass.CPUPerRequestUS <= 0 {
			continue
		}
		ratio := *run.CPUPerRequestUS / *pass.CPUPerRequestUS
		check(t, ratio <= targetRunAPICPURatio, fmt.Sprintf("%.2fx at c=%d (%.1f vs %.1f µs)",
			ratio, run.Concurrency, *run.CPUPerRequestUS, *pass.CPUPerRequestUS))
		measured = true
	}
	if !measured {
		notMeasured(t, "needs run-api and passthrough with the gateway's pid")
	}

	t = fmt.Sprintf("streaming, c=1: added time to first byte < %d µs", targetAddedTTFBUS)
	if r := findPhase(rep.Phases, "passthrough-stream", 1); r != nil && r.AddedTTFBP50US != nil {
		check(t, *r.AddedTTFBP50US < targetAddedTTFBUS, fmt.Sprintf("%+.1f µs (p50)", *r.AddedTTFBP50US))
	} else {
		notMeasured(t, "needs passthrough-stream and direct-stream at c=1")
	}

	// With a pause before each upstream chunk after the first, a first byte sooner than the
	// pause proves the first chunk was relayed alone rather than with the rest of the stream.
	t = "streaming: each chunk flushed as it arrives"
	if r := findPhase(rep.Phases, "passthrough-stream", 1); r != nil && r.Summary.TTFBUS != nil && chunkDelay > 0 {
		check(t, r.Summary.TTFBUS.P50 < micros(chunkDelay), fmt.Sprintf("TTFB p50 %s vs %s between upstream chunks",
			formatMicros(r.Summary.TTFBUS.P50), chunkDelay))
	} else {
		notMeasured(t, "needs passthrough-stream at c=1 and -mock-chunk-delay > 0")
	}

	t = fmt.Sprintf("idle RSS < %d MiB", targetIdleRSSKB/1024)
	if rep.IdleRSSKB > 0 {
		check(t, rep.IdleRSSKB < targetIdleRSSKB, formatMiB(rep.IdleRSSKB))
	} else {
		notMeasured(t, "needs the gateway's pid")
	}
	if rep.PeakRSSKB > 0 {
		out = append(out, targetCheck{Target: "RSS bounded under load", Measured: "peak " + formatMiB(rep.PeakRSSKB) + " (VmHWM)", Verdict: "info"})
	}
	return out
}

func renderMarkdown(rep *compareReport, o *compareOptions) string {
	var b strings.Builder
	b.WriteString("# tracegate load comparison\n\n")
	gateway := "none"
	if rep.Gateway != "" {
		gateway = rep.Gateway
		if o.tracegateBin != "" {
			gateway += fmt.Sprintf(" (started by the tool, spans: %s)", rep.Spans)
		}
	}
	where := "in its own process"
	if rep.MockProcess == "in-process" {
		where = "inside the load tool's process"
	}
	null := ""
	if rep.NullGateway != "" {
		null = fmt.Sprintf(" Null gateway: a bare fasthttp relay in its own process at %s.", rep.NullGateway)
	}
	fmt.Fprintf(&b, "%s, %d CPUs, %s. Upstream: mock at %s (%s, delay %s, %d chunks per stream, chunk delay %s). Gateway: %s.%s\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), rep.Upstream,
		where, o.mock.delay, o.mock.chunks, o.mock.chunkDelay, gateway, null)
	for _, p := range rep.Peers {
		sent := ""
		if len(p.Headers) > 0 {
			sent = ", sent with the headers " + strings.Join(p.Headers, ", ")
		}
		fmt.Fprintf(&b, "Peer gateway %s: %s (rows %s and %s%s, configured by hand to route to the mock%s).\n",
			p.Name, p.ChatURL, p.Name, p.Name, streamSuffix, sent)
	}
	fmt.Fprintf(&b, "Each phase: one probe request, %s warm-up, then %s measured (closed loop). "+
		"Latencies of successful requests; req/s counts successful requests.", o.warmup, o.duration)
	if rep.Rounds > 1 {
		fmt.Fprintf(&b, " %d rounds of all phases at each concurrency, interleaved; each row is the phase's round of median throughput (req/s of every round in the last column).", rep.Rounds)
	}
	b.WriteString("\n\n")

	roundsHead, roundsRule := "", ""
	if rep.Rounds > 1 {
		roundsHead, roundsRule = " rounds req/s |", "---|"
	}
	b.WriteString("| phase | c | req/s | p50 | p99 | TTFB p50 | added p50 vs direct | added TTFB p50 | added p50 vs null gateway | added TTFB vs null gateway | throughput vs direct | tracegate CPU µs/req | tracegate RSS | errors |" + roundsHead + "\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|" + roundsRule + "\n")
	for _, r := range rep.Phases {
		if r.Error != "" {
			fmt.Fprintf(&b, "| %s | %d | FAILED | | | | | | | | | | | %s |%s\n", r.Phase, r.Concurrency, escapeCell(r.Error), roundsCell(rep.Rounds, r.RoundsRPS))
			continue
		}
		s := r.Summary
		ttfb := "–"
		if s.TTFBUS != nil {
			ttfb = formatMicros(s.TTFBUS.P50)
		}
		rss := "–"
		if r.RSSKB > 0 {
			rss = formatMiB(r.RSSKB)
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%s\n",
			r.Phase, r.Concurrency, s.RPS, formatMicros(s.LatencyUS.P50), formatMicros(s.LatencyUS.P99), ttfb,
			signedMicros(r.AddedP50US), signedMicros(r.AddedTTFBP50US),
			signedMicros(r.AddedP50VsNullUS), signedMicros(r.AddedTTFBP50VsNullUS), ratioCell(r.ThroughputRatio),
			floatCell(r.CPUPerRequestUS), rss, errorsCell(*s), roundsCell(rep.Rounds, r.RoundsRPS))
	}

	b.WriteString("\n## Targets (DESIGN.md section 9)\n\n| target | measured | verdict |\n|---|---|---|\n")
	mixed := false
	for _, t := range rep.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Target, escapeCell(t.Measured), t.Verdict)
		mixed = mixed || t.Verdict == "mixed"
	}
	if mixed {
		b.WriteString("\nmixed: the rows' own rounds meet the target (or miss it), but at least one interleaved round, " +
			"tracegate's against the null gateway's of the same number, says the opposite. The machine's noise is larger " +
			"than the margin: judge the target with more rounds (BENCH_ROUNDS) or on a quieter machine.\n")
	}
	if line := floorLine(rep.NullFloor); line != "" {
		b.WriteString("\n" + line + "\n")
	}
	if rep.IdleRSSKB > 0 {
		fmt.Fprintf(&b, "\nGateway RSS: idle %s, peak %s.\n", formatMiB(rep.IdleRSSKB), formatMiB(rep.PeakRSSKB))
	}
	return b.String()
}

// roundsCell lists the throughput of each round of a row, when there were several.
func roundsCell(rounds int, rps []float64) string {
	if rounds <= 1 {
		return ""
	}
	parts := make([]string, len(rps))
	for i, v := range rps {
		if v < 0 {
			parts[i] = "failed"
		} else {
			parts[i] = fmt.Sprintf("%.0f", v)
		}
	}
	return " " + strings.Join(parts, ", ") + " |"
}

// floorLine explains the null gateway rows: what one extra loopback hop costs here.
func floorLine(f *nullFloor) string {
	if f == nil {
		return ""
	}
	cell := func(v *float64) string {
		if v == nil {
			return "(not measured)"
		}
		return fmt.Sprintf("%.0f µs", *v)
	}
	return fmt.Sprintf("Null gateway adds %s p50 / %s TTFB over direct on this machine: the cost of one extra "+
		"loopback hop, paid by any gateway (c=1 medians). Targets are judged against direct; the \"over the null "+
		"gateway\" rows are tracegate's own share.", cell(f.AddedP50US), cell(f.AddedTTFBP50US))
}

// nullPhaseFor names the null gateway phase a tracegate phase is compared with.
func nullPhaseFor(phase string) string {
	for _, p := range allPhases {
		if p.name == phase && p.nullBaseline != "" {
			return p.nullBaseline
		}
	}
	return "null"
}

func signedMicros(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%+.0fµs", *v)
}

func ratioCell(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", *v*100)
}

func floatCell(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f", *v)
}

func formatMiB(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func errorsCell(s summary) string {
	if s.Failed == 0 {
		return "0"
	}
	parts := make([]string, 0, len(s.Errors))
	for _, e := range s.Errors {
		parts = append(parts, fmt.Sprintf("%s ×%d", e.Kind, e.Count))
	}
	return escapeCell(strings.Join(parts, ", "))
}

// escapeCell keeps free text (error bodies) from breaking the table.
func escapeCell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}
