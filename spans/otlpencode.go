package spans

import (
	"encoding/binary"
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// otlpEncoder writes an OTLP ExportTraceServiceRequest straight from the SDK's read-only spans
// into protobuf wire format. The SDK exporter first copies every span into generated protobuf
// structs (tracetransform) and then marshals them by reflection; under load the two were
// about 15% of tracegate's CPU. This encoder appends into one reused buffer instead.
//
// Output matches what otlptrace's tracetransform + proto.Marshal produce, message for message
// (spans_test compares both through a loopback collector): proto3 scalars at their zero value
// are left out, a message the SDK always sets (span status, key-value value, resource) is
// written even when empty, and oneof members are written even when zero.
//
// Nested messages are length-prefixed. Rather than a size pass over every span, a message
// reserves the number of bytes its length usually needs, is written in place, and is shifted
// in the rare case the length needs a different number of bytes.
//
// Field numbers are those of opentelemetry-proto (collector/trace/v1, trace/v1, common/v1,
// resource/v1), as in go.opentelemetry.io/proto/otlp.
type otlpEncoder struct {
	buf    []byte
	groups []spanGroup // (resource, scope) pairs in order of first appearance
	member []int32     // member[i] is the index in groups of span i
	// slices caches string-slice values, encoded (cachedSlice). Such a Value is comparable
	// and hashable: it holds a string array.
	slices map[attribute.Value]string
	recent [8]encodedValue
	next   int // the recent entry to replace next
}

type encodedValue struct {
	v   attribute.Value
	enc string
}

type spanGroup struct {
	res   *resource.Resource
	scope instrumentation.Scope
	// resIdx is the index of the first group with this resource, which writes the
	// ResourceSpans holding all of them.
	resIdx int
}

// Wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// Field numbers (opentelemetry-proto).
const (
	// ExportTraceServiceRequest
	fReqResourceSpans = 1
	// ResourceSpans
	fRSResource   = 1
	fRSScopeSpans = 2
	fRSSchemaURL  = 3
	// Resource
	fResAttributes = 1
	// ScopeSpans
	fSSScope     = 1
	fSSSpans     = 2
	fSSSchemaURL = 3
	// InstrumentationScope
	fScopeName       = 1
	fScopeVersion    = 2
	fScopeAttributes = 3
	// Span
	fSpanTraceID           = 1
	fSpanSpanID            = 2
	fSpanTraceState        = 3
	fSpanParentSpanID      = 4
	fSpanName              = 5
	fSpanKind              = 6
	fSpanStart             = 7
	fSpanEnd               = 8
	fSpanAttributes        = 9
	fSpanDroppedAttributes = 10
	fSpanEvents            = 11
	fSpanDroppedEvents     = 12
	fSpanLinks             = 13
	fSpanDroppedLinks      = 14
	fSpanStatus            = 15
	fSpanFlags             = 16
	// Span.Event
	fEventTime              = 1
	fEventName              = 2
	fEventAttributes        = 3
	fEventDroppedAttributes = 4
	// Span.Link
	fLinkTraceID           = 1
	fLinkSpanID            = 2
	fLinkAttributes        = 4
	fLinkDroppedAttributes = 5
	fLinkFlags             = 6
	// Status
	fStatusMessage = 2
	fStatusCode    = 3
	// KeyValue
	fKVKey   = 1
	fKVValue = 2
	// AnyValue
	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKVList = 6
	fAnyBytes  = 7
	// ArrayValue, KeyValueList
	fListValues = 1
)

// SpanFlags bits (trace/v1 SpanFlags) and status/kind enum values.
const (
	flagContextHasIsRemote = 0x100
	flagContextIsRemote    = 0x200

	statusUnset = 0
	statusOK    = 1
	statusError = 2
)

// encode returns the request for spans; the bytes are valid until the next call.
func (e *otlpEncoder) encode(spans []sdktrace.ReadOnlySpan) []byte {
	e.buf = e.buf[:0]
	e.group(spans)
	for g := range e.groups {
		if e.groups[g].resIdx != g {
			continue // written with its resource's first group
		}
		e.resourceSpans(spans, g)
	}
	clear(e.groups) // drop references to resources and scopes
	e.groups = e.groups[:0]
	return e.buf
}

// group assigns every span to a (resource, scope) group. There is normally one group.
func (e *otlpEncoder) group(spans []sdktrace.ReadOnlySpan) {
	e.member = e.member[:0]
	for _, s := range spans {
		if s == nil {
			e.member = append(e.member, -1)
			continue
		}
		res, scope := s.Resource(), s.InstrumentationScope()
		g := -1
		for i := range e.groups {
			if sameResource(e.groups[i].res, res) && e.groups[i].scope == scope {
				g = i
				break
			}
		}
		if g < 0 {
			resIdx := len(e.groups)
			for i := range e.groups {
				if sameResource(e.groups[i].res, res) {
					resIdx = e.groups[i].resIdx
					break
				}
			}
			g = len(e.groups)
			e.groups = append(e.groups, spanGroup{res: res, scope: scope, resIdx: resIdx})
		}
		e.member = append(e.member, int32(g)) //nolint:gosec // a handful of groups
	}
}

func sameResource(a, b *resource.Resource) bool {
	return a == b || (a != nil && b != nil && a.Equivalent() == b.Equivalent())
}

func (e *otlpEncoder) resourceSpans(spans []sdktrace.ReadOnlySpan, first int) {
	rs := e.begin(fReqResourceSpans, 3)
	res := e.groups[first].res
	if res != nil {
		r := e.begin(fRSResource, 2)
		iter := res.Iter()
		for iter.Next() {
			kv := iter.Attribute()
			e.keyValue(fResAttributes, &kv)
		}
		e.end(r, 2)
	}
	for g := first; g < len(e.groups); g++ {
		if e.groups[g].resIdx != first {
			continue
		}
		scope := e.groups[g].scope
		ss := e.begin(fRSScopeSpans, 3)
		if scope != (instrumentation.Scope{}) {
			sc := e.begin(fSSScope, 1)
			e.str(fScopeName, scope.Name)
			e.str(fScopeVersion, scope.Version)
			iter := scope.Attributes.Iter()
			for iter.Next() {
				kv := iter.Attribute()
				e.keyValue(fScopeAttributes, &kv)
			}
			e.end(sc, 1)
		}
		for i, s := range spans {
			if int(e.member[i]) == g {
				e.span(s)
			}
		}
		e.str(fSSSchemaURL, scope.SchemaURL)
		e.end(ss, 3)
	}
	if res != nil {
		e.str(fRSSchemaURL, res.SchemaURL())
	}
	e.end(rs, 3)
}

func (e *otlpEncoder) span(s sdktrace.ReadOnlySpan) {
	m := e.begin(fSSSpans, 2)
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	e.bytesField(fSpanTraceID, tid[:])
	e.bytesField(fSpanSpanID, sid[:])
	e.str(fSpanTraceState, sc.TraceState().String())
	parent := s.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		e.bytesField(fSpanParentSpanID, psid[:])
	}
	e.str(fSpanName, s.Name())
	e.uvarintField(fSpanKind, spanKindValue(s.SpanKind()))
	e.fixed64Field(fSpanStart, unixNano(s.StartTime().UnixNano()))
	e.fixed64Field(fSpanEnd, unixNano(s.EndTime().UnixNano()))
	attrs := s.Attributes()
	for i := range attrs {
		e.keyValue(fSpanAttributes, &attrs[i])
	}
	e.uvarintField(fSpanDroppedAttributes, uint64(clampU32(s.DroppedAttributes())))
	for _, ev := range s.Events() {
		em := e.begin(fSpanEvents, 1)
		e.fixed64Field(fEventTime, unixNano(ev.Time.UnixNano()))
		e.str(fEventName, ev.Name)
		for i := range ev.Attributes {
			e.keyValue(fEventAttributes, &ev.Attributes[i])
		}
		e.uvarintField(fEventDroppedAttributes, uint64(clampU32(ev.DroppedAttributeCount)))
		e.end(em, 1)
	}
	e.uvarintField(fSpanDroppedEvents, uint64(clampU32(s.DroppedEvents())))
	for _, l := range s.Links() {
		lm := e.begin(fSpanLinks, 1)
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		e.bytesField(fLinkTraceID, ltid[:])
		e.bytesField(fLinkSpanID, lsid[:])
		// Like tracetransform, links carry no trace_state.
		for i := range l.Attributes {
			e.keyValue(fLinkAttributes, &l.Attributes[i])
		}
		e.uvarintField(fLinkDroppedAttributes, uint64(clampU32(l.DroppedAttributeCount)))
		e.fixed32Field(fLinkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
		e.end(lm, 1)
	}
	e.uvarintField(fSpanDroppedLinks, uint64(clampU32(s.DroppedLinks())))
	st := s.Status()
	stm := e.begin(fSpanStatus, 1) // always present, as the SDK sets it
	e.str(fStatusMessage, st.Description)
	e.uvarintField(fStatusCode, statusCodeValue(st.Code))
	e.end(stm, 1)
	e.fixed32Field(fSpanFlags, spanFlags(sc.TraceFlags(), parent))
	e.end(m, 2)
}

// spanFlags is tracetransform's buildSpanFlagsWith: the W3C trace flags, "we know whether the
// parent is remote", and whether it is.
func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | flagContextHasIsRemote
	if parent.IsRemote() {
		f |= flagContextIsRemote
	}
	return f
}

func spanKindValue(k trace.SpanKind) uint64 {
	switch k {
	case trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer:
		return uint64(k) // the OTel API and OTLP number kinds alike (1..5)
	}
	return 0
}

func statusCodeValue(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return statusOK
	case codes.Error:
		return statusError
	}
	return statusUnset
}

func unixNano(n int64) uint64 { return uint64(max(0, n)) } //nolint:gosec // clamped

func clampU32(v int) uint32 {
	if v < 0 {
		return 0
	}
	if int64(v) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v) //nolint:gosec // clamped
}

// keyValue writes a KeyValue message as field num. Value is always present.
//
// Attributes are nearly all of an export's work, and nearly all are scalars: their sizes are
// known up front, so they are written in one pass with exact lengths rather than begun and
// ended (the same bytes: lengths are minimal varints either way). String slices, whose
// elements the attribute API only hands out as a fresh copy, are encoded once and then copied
// from the encoder's cache.
func (e *otlpEncoder) keyValue(num int, kv *attribute.KeyValue) {
	v := &kv.Value
	switch v.Type() {
	case attribute.STRING:
		str := v.AsString()
		b := appendKeyValueHeader(e.buf, num, kv.Key, 1+bytesLen(len(str)))
		b = append(b, fAnyString<<3|wireBytes)
		b = binary.AppendUvarint(b, uint64(len(str)))
		e.buf = append(b, str...)
	case attribute.INT64:
		n := uint64(v.AsInt64()) //nolint:gosec // int64 is two's complement on the wire
		b := appendKeyValueHeader(e.buf, num, kv.Key, 1+uvarintLen(n))
		b = append(b, fAnyInt<<3|wireVarint)
		e.buf = binary.AppendUvarint(b, n)
	case attribute.FLOAT64:
		b := appendKeyValueHeader(e.buf, num, kv.Key, 1+8)
		b = append(b, fAnyDouble<<3|wireFixed64)
		e.buf = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.AsFloat64()))
	case attribute.BOOL:
		b := appendKeyValueHeader(e.buf, num, kv.Key, 1+1)
		x := byte(0)
		if v.AsBool() {
			x = 1
		}
		e.buf = append(b, fAnyBool<<3|wireVarint, x)
	case attribute.STRINGSLICE:
		enc := e.cachedSlice(v)
		b := appendKeyValueHeader(e.buf, num, kv.Key, len(enc))
		e.buf = append(b, enc...)
	default:
		m := e.begin(num, 1)
		e.str(fKVKey, string(kv.Key))
		vm := e.begin(fKVValue, 1)
		e.anyValueBody(*v)
		e.end(vm, 1)
		e.end(m, 1)
	}
}

// appendKeyValueHeader appends the start of a KeyValue message as field num, up to the body
// of its AnyValue, which is body bytes long. It works on b rather than e.buf so the slice
// stays in registers.
func appendKeyValueHeader(b []byte, num int, key attribute.Key, body int) []byte {
	size := 1 + bytesLen(body)
	if key != "" {
		size += 1 + bytesLen(len(key))
	}
	b = appendTag(b, num, wireBytes)
	b = binary.AppendUvarint(b, uint64(size))
	if key != "" {
		b = append(b, fKVKey<<3|wireBytes)
		b = binary.AppendUvarint(b, uint64(len(key)))
		b = append(b, key...)
	}
	b = append(b, fKVValue<<3|wireBytes)
	return binary.AppendUvarint(b, uint64(body))
}

// bytesLen is the size of n bytes with their length prefix.
func bytesLen(n int) int { return uvarintLen(uint64(n)) + n }

// maxCachedSlices bounds the encoder's cache of encoded string slices (finish reasons, stop
// sequences, tags, variable names); it is emptied when full.
const maxCachedSlices = 256

// cachedSlice is the AnyValue body of a string slice, encoded on a cache miss. The few
// values seen last are compared first: equal values built from the same strings (the
// precomputed finish reasons, a prompt's variable names) compare by pointer, cheaper than
// hashing them for the map.
func (e *otlpEncoder) cachedSlice(v *attribute.Value) string {
	for i := range e.recent {
		if r := &e.recent[i]; r.enc != "" && r.v == *v {
			return r.enc
		}
	}
	enc, ok := e.slices[*v]
	if !ok {
		start := len(e.buf)
		e.anyValueBody(*v)
		enc = string(e.buf[start:])
		e.buf = e.buf[:start]
		if len(enc) > 1024 { // not worth keeping
			return enc
		}
		if e.slices == nil || len(e.slices) >= maxCachedSlices {
			e.slices = make(map[attribute.Value]string, maxCachedSlices)
		}
		e.slices[*v] = enc
	}
	e.recent[e.next] = encodedValue{*v, enc}
	e.next = (e.next + 1) % len(e.recent)
	return enc
}

// anyValueBody writes the fields of an AnyValue (the oneof member, written even when zero).
func (e *otlpEncoder) anyValueBody(v attribute.Value) {
	switch v.Type() {
	case attribute.BOOL:
		e.tag(fAnyBool, wireVarint)
		if v.AsBool() {
			e.buf = append(e.buf, 1)
		} else {
			e.buf = append(e.buf, 0)
		}
	case attribute.INT64:
		e.tag(fAnyInt, wireVarint)
		e.buf = binary.AppendUvarint(e.buf, uint64(v.AsInt64())) //nolint:gosec // int64 is two's complement on the wire
	case attribute.FLOAT64:
		e.tag(fAnyDouble, wireFixed64)
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		e.strAlways(fAnyString, v.AsString())
	case attribute.BYTESLICE:
		e.tag(fAnyBytes, wireBytes)
		b := v.AsByteSlice()
		e.buf = binary.AppendUvarint(e.buf, uint64(len(b)))
		e.buf = append(e.buf, b...)
	case attribute.BOOLSLICE:
		a := e.begin(fAnyArray, 1)
		for _, x := range v.AsBoolSlice() {
			e.anyValue(attribute.BoolValue(x))
		}
		e.end(a, 1)
	case attribute.INT64SLICE:
		a := e.begin(fAnyArray, 1)
		for _, x := range v.AsInt64Slice() {
			e.anyValue(attribute.Int64Value(x))
		}
		e.end(a, 1)
	case attribute.FLOAT64SLICE:
		a := e.begin(fAnyArray, 1)
		for _, x := range v.AsFloat64Slice() {
			e.anyValue(attribute.Float64Value(x))
		}
		e.end(a, 1)
	case attribute.STRINGSLICE:
		a := e.begin(fAnyArray, 1)
		for _, x := range v.AsStringSlice() {
			e.anyValue(attribute.StringValue(x))
		}
		e.end(a, 1)
	case attribute.SLICE:
		a := e.begin(fAnyArray, 1)
		for _, x := range v.AsSlice() {
			e.anyValue(x)
		}
		e.end(a, 1)
	case attribute.MAP:
		a := e.begin(fAnyKVList, 1)
		kvs := v.AsMap()
		for i := range kvs {
			e.keyValue(fListValues, &kvs[i])
		}
		e.end(a, 1)
	case attribute.EMPTY:
	default:
		e.strAlways(fAnyString, "INVALID") // as tracetransform does
	}
}

// anyValue writes an AnyValue element of an ArrayValue.
func (e *otlpEncoder) anyValue(v attribute.Value) {
	m := e.begin(fListValues, 1)
	e.anyValueBody(v)
	e.end(m, 1)
}

// begin writes the tag of length-delimited field num and reserves room bytes for its length.
// It returns where the message body starts.
func (e *otlpEncoder) begin(num, room int) int {
	e.tag(num, wireBytes)
	for range room {
		e.buf = append(e.buf, 0)
	}
	return len(e.buf)
}

// end writes the length of the message begun at start with room reserved bytes, moving the
// body when the length needs a different number of bytes.
func (e *otlpEncoder) end(start, room int) {
	n := len(e.buf) - start
	need := uvarintLen(uint64(n))
	if need != room {
		if need > room {
			e.buf = append(e.buf, make([]byte, need-room)...)
		}
		copy(e.buf[start-room+need:], e.buf[start:start+n])
		e.buf = e.buf[:start-room+need+n]
	}
	putUvarint(e.buf[start-room:start-room+need], uint64(n))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// putUvarint writes v into exactly len(b) == uvarintLen(v) bytes.
func putUvarint(b []byte, v uint64) {
	i := 0
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
}

func (e *otlpEncoder) tag(num, wire int) { e.buf = appendTag(e.buf, num, wire) }

func appendTag(b []byte, num, wire int) []byte {
	if num < 16 {
		return append(b, byte(num<<3|wire))
	}
	return binary.AppendUvarint(b, uint64(num)<<3|uint64(wire)) //nolint:gosec // small constants
}

// str writes a string field, left out when empty (proto3).
func (e *otlpEncoder) str(num int, s string) {
	if s != "" {
		e.strAlways(num, s)
	}
}

func (e *otlpEncoder) strAlways(num int, s string) {
	e.tag(num, wireBytes)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *otlpEncoder) bytesField(num int, b []byte) {
	if len(b) == 0 {
		return
	}
	e.tag(num, wireBytes)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *otlpEncoder) uvarintField(num int, v uint64) {
	if v != 0 {
		e.tag(num, wireVarint)
		e.buf = binary.AppendUvarint(e.buf, v)
	}
}

func (e *otlpEncoder) fixed64Field(num int, v uint64) {
	if v != 0 {
		e.tag(num, wireFixed64)
		e.buf = binary.LittleEndian.AppendUint64(e.buf, v)
	}
}

func (e *otlpEncoder) fixed32Field(num int, v uint32) {
	if v != 0 {
		e.tag(num, wireFixed32)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, v)
	}
}
