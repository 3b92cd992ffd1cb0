package openai

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/tracegate/tracegate/internal/jsonscan"
	"github.com/tracegate/tracegate/internal/jsonw"
	"github.com/tracegate/tracegate/llm"
	"github.com/valyala/fastjson"
)

// MaxEmbeddingInputs is OpenAI's limit on inputs per embeddings request, applied to the
// inputs tracegate decodes for translation.
const MaxEmbeddingInputs = 2048

// maxEmbeddingDimensions bounds the requested vector length (the largest models have 3072).
const maxEmbeddingDimensions = 1 << 16

// EmbeddingsBody is what tracegate reads of a POST /v1/embeddings body. A passed-through body
// is forwarded as it came; Input keeps the raw input for translation (see Texts).
type EmbeddingsBody struct {
	Model string
	// Input is the raw JSON value of "input": a string, an array of strings, an array of
	// token ids or an array of token-id arrays.
	Input []byte
	// Tokens says the input is token ids, which only an OpenAI-format provider understands.
	Tokens     bool
	Dimensions int
	// Base64 is encoding_format "base64": vectors as base64 of little-endian float32s.
	Base64 bool
	User   string
	// TaskType is tracegate's extension for Gemini targets ("task_type"); see README.
	TaskType string
}

// ScanEmbeddingsRequest reads an embeddings request body without decoding its input. Errors
// wrap llm.ErrInvalidRequest.
func ScanEmbeddingsRequest(body []byte) (EmbeddingsBody, error) {
	var e EmbeddingsBody
	s, ok := newObjectScanner(body, 0)
	if !ok {
		return e, invalidf("body must be a JSON object")
	}
	var seen jsonscan.Seen
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		v := body[m.Start:m.End]
		var err error
		member := embeddingsMember(m.Key)
		if member >= 0 && !seen.First(uint(member)) {
			return EmbeddingsBody{}, givenTwice(embeddingsMembers[member])
		}
		switch member {
		case 0:
			e.Model, err = scanModelString(v)
		case 1:
			e.Input = v
		case 2:
			e.Dimensions, err = scanDimensions(v)
		case 3:
			var f string
			if f, err = scanString(v, "encoding_format"); err == nil {
				switch f {
				case "", "float":
					e.Base64 = false
				case "base64":
					e.Base64 = true
				default:
					err = invalidf("encoding_format %q: want float or base64", f)
				}
			}
		case 4:
			e.User, err = scanString(v, "user")
		case 5:
			e.TaskType, err = scanString(v, "task_type")
		}
		if err != nil {
			return EmbeddingsBody{}, err
		}
	}
	if !s.Finish() {
		return EmbeddingsBody{}, invalidf("body is not valid JSON")
	}
	if e.Model == "" {
		return EmbeddingsBody{}, invalidf("model is required")
	}
	tokens, err := inputKind(e.Input)
	if err != nil {
		return EmbeddingsBody{}, err
	}
	e.Tokens = tokens
	return e, nil
}

// embeddingsMembers are the members ScanEmbeddingsRequest reads, numbered by their index.
var embeddingsMembers = [...]string{"model", "input", "dimensions", "encoding_format", "user", "task_type"}

// embeddingsMember is the number of the member named by raw key, -1 for one not read.
func embeddingsMember(key []byte) int {
	for i, name := range embeddingsMembers {
		if keyIs(key, name) {
			return i
		}
	}
	return -1
}

// scanString reads a string member; null counts as "".
func scanString(v []byte, name string) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	if v[0] != '"' {
		return "", invalidf("%s must be a string", name)
	}
	s, ok := unquote(v[1 : len(v)-1])
	if !ok {
		return "", invalidf("%s is not a valid JSON string", name)
	}
	return s, nil
}

// scanModelString is scanString for "model", interned: a deployment sees a handful.
func scanModelString(v []byte) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	if v[0] != '"' {
		return "", invalidf("model must be a string")
	}
	s, ok := unquoteModel(v[1 : len(v)-1])
	if !ok {
		return "", invalidf("model is not a valid JSON string")
	}
	return s, nil
}

func scanDimensions(v []byte) (int, error) {
	if string(v) == "null" {
		return 0, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 || n > maxEmbeddingDimensions {
		return 0, invalidf("dimensions must be an integer from 1 to %d", maxEmbeddingDimensions)
	}
	return n, nil
}

// inputKind checks the input's shape from its first element: text or token ids. The elements
// past the first are checked by Texts (translation) or by the provider (passthrough).
func inputKind(v []byte) (tokens bool, err error) {
	if len(v) == 0 || string(v) == "null" {
		return false, invalidf("input is required")
	}
	switch v[0] {
	case '"':
		return false, nil
	case '[':
		i := skipSpace(v, 1)
		switch {
		case v[i] == ']':
			return false, invalidf("input must not be an empty array")
		case v[i] == '"':
			return false, nil
		case v[i] == '[' || v[i] == '-' || ('0' <= v[i] && v[i] <= '9'):
			return true, nil
		}
	}
	return false, invalidf("input must be a string, an array of strings or an array of token ids")
}

// Texts decodes the input as texts, for providers that embed text. Token-id input is an
// error there: only an OpenAI-format provider knows the tokenizer.
func (e *EmbeddingsBody) Texts() ([]string, error) {
	if e.Tokens {
		return nil, invalidf("input as token ids needs an OpenAI-format provider; send text instead")
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(e.Input)
	if err != nil {
		return nil, invalidf("input is not valid JSON")
	}
	if v.Type() == fastjson.TypeString {
		return []string{string(v.GetStringBytes())}, nil
	}
	items, err := v.Array()
	if err != nil {
		return nil, invalidf("input must be a string or an array of strings")
	}
	if len(items) > MaxEmbeddingInputs {
		return nil, invalidf("input has %d items; at most %d", len(items), MaxEmbeddingInputs)
	}
	out := make([]string, len(items))
	for i, it := range items {
		b, err := it.StringBytes()
		if err != nil {
			return nil, invalidf("input[%d] must be a string", i)
		}
		if len(b) == 0 {
			return nil, invalidf("input[%d] is empty", i)
		}
		out[i] = string(b)
	}
	return out, nil
}

// Request is the canonical request for translation.
func (e *EmbeddingsBody) Request() (*llm.EmbeddingRequest, error) {
	texts, err := e.Texts()
	if err != nil {
		return nil, err
	}
	return &llm.EmbeddingRequest{Model: e.Model, Inputs: texts, Dimensions: e.Dimensions, TaskType: e.TaskType, User: e.User}, nil
}

// EmbeddingsReply is what spans and pricing need of a passed-through embeddings reply.
type EmbeddingsReply struct {
	Model string
	Usage llm.Usage
	// Dimensions is the length of the first vector; 0 when it cannot be told.
	Dimensions int
}

// ScanEmbeddingsReply reads model, usage and the vector length of an OpenAI embeddings reply
// in one pass over its top level, without decoding the vectors.
func ScanEmbeddingsReply(raw []byte) EmbeddingsReply {
	var r EmbeddingsReply
	s, ok := newObjectScanner(raw, 0)
	if !ok {
		return r
	}
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		v := raw[m.Start:m.End]
		switch {
		case keyIs(m.Key, "model") && v[0] == '"':
			r.Model, _ = unquoteModel(v[1 : len(v)-1])
		case keyIs(m.Key, "usage") && v[0] == '{':
			r.Usage, _ = parseUsage(v)
		case keyIs(m.Key, "data") && v[0] == '[':
			r.Dimensions = firstVectorLength(v)
		}
	}
	return r
}

// firstVectorLength reads data[0].embedding's length: numbers counted by their commas for a
// float array, decoded bytes / 4 for base64.
func firstVectorLength(data []byte) int {
	s, ok := newObjectScanner(data, 1)
	if !ok {
		return 0
	}
	for {
		m, ok := s.Next()
		if !ok {
			return 0
		}
		if !keyIs(m.Key, "embedding") {
			continue
		}
		v := data[m.Start:m.End]
		switch v[0] {
		case '"':
			return base64.StdEncoding.DecodedLen(len(v)-2) / 4 // padding aside, exact for float32s
		case '[':
			if skipSpace(v, 1) == len(v)-1 {
				return 0
			}
			n := 1
			for _, c := range v[1 : len(v)-1] {
				if c == ',' {
					n++
				}
			}
			return n
		}
		return 0
	}
}

// EncodeEmbeddingsResponse writes r as an OpenAI embeddings reply, each vector as a float
// array or, with asBase64, as base64 of its little-endian float32s (what OpenAI sends).
func EncodeEmbeddingsResponse(dst []byte, r *llm.EmbeddingResponse, asBase64 bool) []byte {
	dst = append(dst, `{"object":"list","data":[`...)
	var scratch []byte
	for i, vec := range r.Vectors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"object":"embedding","index":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"embedding":`...)
		if asBase64 {
			scratch = scratch[:0]
			for _, f := range vec {
				scratch = binary.LittleEndian.AppendUint32(scratch, math.Float32bits(f))
			}
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, scratch)
			dst = append(dst, '"')
		} else {
			dst = append(dst, '[')
			for j, f := range vec {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendFloat32(dst, f)
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `],"model":`...)
	dst = jsonw.String(dst, r.Model)
	dst = append(dst, `,"usage":{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, r.Usage.InputTokens, 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, r.Usage.InputTokens, 10)
	return append(dst, "}}"...)
}

// appendFloat32 writes f in the shortest form that reads back as the same float32; a
// non-finite value (which JSON cannot carry, and decoders never produce) is written as 0.
func appendFloat32(dst []byte, f float32) []byte {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, float64(f), 'g', -1, 32)
}

// WithoutTaskType appends body to dst without its top-level "task_type" members: that key is
// tracegate's extension for Gemini targets, which an OpenAI-format provider would reject as
// an unknown parameter. body must be a valid object (ScanEmbeddingsRequest accepted it).
func WithoutTaskType(dst, body []byte) []byte {
	s, ok := newObjectScanner(body, 0)
	if !ok {
		return append(dst, body...)
	}
	dst = append(dst, '{')
	first := true
	for {
		m, ok := s.Next()
		if !ok {
			break
		}
		if keyIs(m.Key, "task_type") {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(append(append(dst, '"'), m.Key...), `":`...)
		dst = append(dst, body[m.Start:m.End]...)
	}
	return append(dst, '}')
}
