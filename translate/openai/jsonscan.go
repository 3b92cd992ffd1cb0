package openai

import (
	"bytes"

	"github.com/tracegate/tracegate/internal/intern"
	"github.com/tracegate/tracegate/internal/jsonscan"
)

// The passthrough path must find a few top-level fields of bodies it forwards untouched, and
// splice some of them, without decoding the rest: internal/jsonscan's object scanner, under
// these names here.
const maxScanDepth = jsonscan.MaxDepth

type objectScanner = jsonscan.Object

func newObjectScanner(b []byte, from int) (objectScanner, bool) { return jsonscan.NewObject(b, from) }

func keyIs(raw []byte, name string) bool { return jsonscan.KeyIs(raw, name) }

func skipSpace(b []byte, i int) int { return jsonscan.SkipSpace(b, i) }

// modelNames interns model names (and finish reasons) read from bodies: a deployment sees a
// handful, and each request and reply would otherwise make its own copy.
var modelNames = intern.New(1024)

// unquoteModel is unquote for a model name.
func unquoteModel(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return modelNames.Bytes(raw), true
	}
	return unquote(raw)
}

// unquote decodes the body of a JSON string literal (without its quotes).
func unquote(raw []byte) (string, bool) { return jsonscan.Unquote(raw) }

// givenTwice is the error for a body that names a member the scan reads more than once
// (jsonscan.Seen says why that is refused).
func givenTwice(name string) error {
	return invalidf("%s is given more than once", name)
}
