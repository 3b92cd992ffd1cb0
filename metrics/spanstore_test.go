package metrics

import "testing"

func TestSpanStoreCountersReadAtScrape(t *testing.T) {
	m := New(Sources{})
	st := SpanStoreStats{Dropped: 3, Failed: 1, Written: 40, Queued: 2}
	m.WatchSpanStore(func() SpanStoreStats { return st })
	st.Dropped = 5 // read at scrape time, not at registration
	fams := gathered(t, m)
	for name, want := range map[string]float64{
		"tracegate_span_store_dropped_total": 5,
		"tracegate_span_store_failed_total":  1,
		"tracegate_span_store_written_total": 40,
	} {
		if got := counterValue(t, fams, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if g := fams["tracegate_span_store_queued"]; g == nil || g.Metric[0].GetGauge().GetValue() != 2 {
		t.Errorf("tracegate_span_store_queued = %v, want 2", g)
	}
}
