package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// The Tracia SDKs require createdAt and updatedAt on every prompt and createdAt on every
// version, and an id on every message. Files written by hand rarely carry them, so they are
// filled in here, from values that do not change between restarts: a file's own fields when
// present, else its modification time (timestamps), and a hash of slug, version and position
// (message ids).

// timeLayout is how timestamps are served: UTC with milliseconds, like JavaScript's
// toISOString, which both SDKs parse.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// unknownTime stands in for a timestamp no source knows (an upstream registry that sends
// none): the Unix epoch is stable, where "now" would change on every fetch.
var unknownTime = time.Unix(0, 0)

// acceptedTimeLayouts are the forms a stored timestamp may take: RFC 3339 as the SDKs send it,
// Python's isoformat() without a zone (read as UTC), and a bare date.
var acceptedTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"}

// FormatTime renders t the way prompt timestamps are served and stored.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// canonicalTime parses a stored timestamp and renders it in timeLayout.
func canonicalTime(s string) (string, error) {
	for _, layout := range acceptedTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return FormatTime(t), nil
		}
	}
	return "", fmt.Errorf("%q is not an ISO 8601 date-time", s)
}

// fillTimes gives p and its versions the timestamps they lack, taking them from fallback, and
// brings stored ones to one layout. A version without createdAt dates from the prompt.
func (p *Prompt) fillTimes(fallback time.Time) error {
	fill := func(field string, v *string) error {
		if *v == "" {
			*v = FormatTime(fallback)
			return nil
		}
		c, err := canonicalTime(*v)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		*v = c
		return nil
	}
	if err := fill("createdAt", &p.CreatedAt); err != nil {
		return err
	}
	if err := fill("updatedAt", &p.UpdatedAt); err != nil {
		return err
	}
	for i := range p.Versions {
		v := &p.Versions[i]
		if v.CreatedAt == "" {
			v.CreatedAt = p.CreatedAt
			continue
		}
		if err := fill("version "+strconv.Itoa(v.Version)+" createdAt", &v.CreatedAt); err != nil {
			return err
		}
	}
	return nil
}

// fillMessageIDs gives every message without an id one derived from the slug, the version
// number and its position: versions never change once written, so the id never does either.
func (p *Prompt) fillMessageIDs() {
	for i := range p.Versions {
		v := &p.Versions[i]
		for j := range v.Messages {
			if v.Messages[j].ID == "" {
				v.Messages[j].ID = derivedMessageID(p.Slug, v.Version, j)
			}
		}
	}
}

func derivedMessageID(slug string, version, index int) string {
	h := sha256.New()
	h.Write([]byte(slug))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(version), 10))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(index), 10))
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:8])
}
