package main

import (
	"slices"
	"sort"
	"time"
)

// recorder collects one worker's outcomes; workers never share one, so recording takes no
// lock. Latencies of failed requests are left out: a fast 404 would flatter the percentiles.
type recorder struct {
	latencies    []time.Duration
	ttfbs        []time.Duration
	chunks       int64
	failed       int
	errors       map[string]int
	errorExample map[string]string
}

func newRecorder(capacity int) *recorder {
	return &recorder{
		latencies:    make([]time.Duration, 0, capacity),
		errors:       map[string]int{},
		errorExample: map[string]string{},
	}
}

func (r *recorder) add(o outcome, stream bool) {
	if o.errKind != "" {
		r.failed++
		r.errors[o.errKind]++
		if _, seen := r.errorExample[o.errKind]; !seen {
			r.errorExample[o.errKind] = o.errDetail
		}
		return
	}
	r.latencies = append(r.latencies, o.latency)
	if stream {
		r.ttfbs = append(r.ttfbs, o.ttfb)
		r.chunks += int64(o.chunks)
	}
}

func mergeRecorders(rs []*recorder) *recorder {
	total := 0
	for _, r := range rs {
		total += len(r.latencies)
	}
	m := newRecorder(total)
	for _, r := range rs {
		m.latencies = append(m.latencies, r.latencies...)
		m.ttfbs = append(m.ttfbs, r.ttfbs...)
		m.chunks += r.chunks
		m.failed += r.failed
		for k, n := range r.errors {
			m.errors[k] += n
			if _, seen := m.errorExample[k]; !seen {
				m.errorExample[k] = r.errorExample[k]
			}
		}
	}
	return m
}

// percentiles are in microseconds, fractional, since the interesting differences between a
// direct call and one through a gateway are tens of microseconds.
type percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// errorCount is one error bucket, with the first error seen in it.
type errorCount struct {
	Kind    string `json:"kind"`
	Count   int    `json:"count"`
	Example string `json:"example,omitempty"`
}

// summary is one run's result; its JSON form is the -json output.
type summary struct {
	Target      string       `json:"target"`
	Loop        string       `json:"loop"`
	Stream      bool         `json:"stream"`
	Concurrency int          `json:"concurrency"`
	Rate        float64      `json:"rate,omitempty"`
	MaxInFlight int          `json:"max_inflight,omitempty"`
	ElapsedS    float64      `json:"elapsed_s"`
	Requests    int          `json:"requests"`
	OK          int          `json:"ok"`
	Failed      int          `json:"failed"`
	Dropped     int          `json:"dropped"`
	RPS         float64      `json:"rps"`
	LatencyUS   percentiles  `json:"latency_us"`
	TTFBUS      *percentiles `json:"ttfb_us,omitempty"`
	ChunksMean  float64      `json:"chunks_per_stream,omitempty"`
	Errors      []errorCount `json:"errors"`
}

// summarize turns merged outcomes into the reported numbers. rps counts successful requests
// only, for the same reason the percentiles do.
func summarize(r *recorder, elapsed time.Duration, stream bool) summary {
	s := summary{
		ElapsedS: elapsed.Seconds(),
		OK:       len(r.latencies),
		Failed:   r.failed,
		Errors:   []errorCount{},
	}
	s.Requests = s.OK + s.Failed
	if elapsed > 0 {
		s.RPS = float64(s.OK) / elapsed.Seconds()
	}
	s.LatencyUS = computePercentiles(r.latencies)
	if stream {
		p := computePercentiles(r.ttfbs)
		s.TTFBUS = &p
		if s.OK > 0 {
			s.ChunksMean = float64(r.chunks) / float64(s.OK)
		}
	}
	for kind, n := range r.errors {
		s.Errors = append(s.Errors, errorCount{Kind: kind, Count: n, Example: r.errorExample[kind]})
	}
	sort.Slice(s.Errors, func(i, j int) bool {
		if s.Errors[i].Count != s.Errors[j].Count {
			return s.Errors[i].Count > s.Errors[j].Count
		}
		return s.Errors[i].Kind < s.Errors[j].Kind
	})
	return s
}

// computePercentiles sorts d in place and reads nearest-rank percentiles: the value below
// which q of the samples fall, always one of the samples, never interpolated.
func computePercentiles(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	slices.Sort(d)
	var sum float64
	for _, v := range d {
		sum += float64(v)
	}
	return percentiles{
		P50:  micros(nearestRank(d, 500)),
		P90:  micros(nearestRank(d, 900)),
		P99:  micros(nearestRank(d, 990)),
		Max:  micros(d[len(d)-1]),
		Mean: sum / float64(len(d)) / float64(time.Microsecond),
	}
}

// nearestRank takes the quantile in thousandths, in integers, so that 0.9*100 cannot round to
// rank 91.
func nearestRank(sorted []time.Duration, permille int) time.Duration {
	rank := (permille*len(sorted) + 999) / 1000 // ceil
	return sorted[max(0, min(rank-1, len(sorted)-1))]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
