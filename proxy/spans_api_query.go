package proxy

import (
	"strconv"
	"strings"
	"time"

	"github.com/tracegate/tracegate/store"
	"github.com/valyala/fasthttp"
)

// maxFilterValue bounds every ListSpansOptions value.
const maxFilterValue = 1024

// The date-time forms the SDKs send: Node's toISOString (Z), Python's isoformat (an offset,
// or none for a naive datetime, which is taken as UTC; microseconds or none), and a plain date.
var (
	zonedLayouts = [...]string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04Z07:00"}
	naiveLayouts = [...]string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04"}
)

const dateLayout = "2006-01-02"

// parseSpanFilter reads the ListSpansOptions query string; a bad value is INVALID_REQUEST
// naming the parameter. Unknown parameters are ignored.
func parseSpanFilter(args *fasthttp.Args) (store.Filter, error) {
	var f store.Filter
	var err error
	str := func(name string) string {
		v := args.Peek(name)
		if len(v) > maxFilterValue && err == nil {
			err = invalid("%s is longer than %d bytes", name, maxFilterValue)
		}
		return string(v)
	}
	f.PromptSlug, f.UserID, f.SessionID, f.Cursor = str("promptSlug"), str("userId"), str("sessionId"), str("cursor")
	status, tags, limit, startDate, endDate := str("status"), str("tags"), str("limit"), str("startDate"), str("endDate")
	if err != nil {
		return f, err
	}
	switch strings.ToUpper(status) {
	case "":
	case store.StatusSuccess, store.StatusError:
		f.Status = strings.ToUpper(status)
	default:
		return f, invalid("status %.64q must be SUCCESS or ERROR", status)
	}
	for _, t := range strings.Split(tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			f.Tags = append(f.Tags, t)
		}
	}
	if limit != "" {
		n, perr := strconv.Atoi(limit)
		if perr != nil || n < 1 {
			return f, invalid("limit %.64q must be a positive integer", limit)
		}
		f.Limit = min(n, store.MaxLimit)
	}
	if f.Start, err = parseFilterTime("startDate", startDate, false); err != nil {
		return f, err
	}
	if f.End, err = parseFilterTime("endDate", endDate, true); err != nil {
		return f, err
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.End.Before(f.Start) {
		return f, invalid("startDate %s is after endDate %s", startDate, endDate)
	}
	return f, nil
}

// parseFilterTime reads one date-time filter. A plain date as endDate means the whole day.
func parseFilterTime(name, v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	// A '+' offset sent unencoded arrives as a space: "2026-01-02T03:04:05 00:00".
	if n := len(v); n > len("+00:00") && v[n-6] == ' ' && v[n-3] == ':' {
		v = v[:n-6] + "+" + v[n-5:]
	}
	for _, layout := range zonedLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	for _, layout := range naiveLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation(dateLayout, v, time.UTC); err == nil {
		if end {
			return t.Add(24*time.Hour - time.Nanosecond), nil
		}
		return t, nil
	}
	return time.Time{}, invalid("%s %.64q must be an ISO 8601 date-time (2026-01-02T15:04:05Z, 2026-01-02T15:04:05.123456+00:00, 2026-01-02T15:04:05 as UTC) or a date", name, v)
}
