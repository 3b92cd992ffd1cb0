package config

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Route globs are compiled here both by Validate and by the router that matches them, so a
// pattern the validator accepts is one the router can match, and a pattern matching cannot do
// is an error at load time instead of a route that silently never matches.
//
// Syntax, over characters (runes) of the model name:
//
//	*        any run of characters, '/' included (model ids contain slashes)
//	?        any one character
//	[abc]    one character of the class; ranges [a-z], negation [!a-z] or [^a-z];
//	         a ']' first in the class is literal, as is a '-' first or last
//	\c       the character c itself
//
// Anything else matches itself.

// Glob is a compiled route pattern.
type Glob struct {
	pattern string
	toks    []globTok
	literal bool
}

type globKind uint8

const (
	globChar  globKind = iota // one given rune
	globAny                   // ?
	globStar                  // *
	globClass                 // [...]
)

type globTok struct {
	kind   globKind
	r      rune
	negate bool
	ranges []runeRange
}

type runeRange struct{ lo, hi rune }

// maxGlobLen bounds a pattern: routes are short, and matching is O(len(pattern)*len(name)).
const maxGlobLen = 256

var errGlob = errors.New("invalid glob")

// CompileGlob parses a route pattern. The error says what is wrong and where.
func CompileGlob(pattern string) (Glob, error) {
	g := Glob{pattern: pattern, literal: true}
	if pattern == "" {
		return g, fmt.Errorf("empty pattern: %w", errGlob)
	}
	if len(pattern) > maxGlobLen {
		return g, fmt.Errorf("pattern longer than %d bytes: %w", maxGlobLen, errGlob)
	}
	if !utf8.ValidString(pattern) {
		return g, fmt.Errorf("pattern is not valid UTF-8: %w", errGlob)
	}
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		switch r {
		case '*':
			g.literal = false
			// Consecutive stars match what one does.
			if k := len(g.toks); k == 0 || g.toks[k-1].kind != globStar {
				g.toks = append(g.toks, globTok{kind: globStar})
			}
			i += n
		case '?':
			g.literal = false
			g.toks = append(g.toks, globTok{kind: globAny})
			i += n
		case '\\':
			g.literal = false
			if i+n >= len(pattern) {
				return g, fmt.Errorf("trailing '\\' at byte %d: %w", i, errGlob)
			}
			e, m := utf8.DecodeRuneInString(pattern[i+n:])
			g.toks = append(g.toks, globTok{kind: globChar, r: e})
			i += n + m
		case '[':
			g.literal = false
			tok, next, err := compileClass(pattern, i)
			if err != nil {
				return g, err
			}
			g.toks = append(g.toks, tok)
			i = next
		default:
			g.toks = append(g.toks, globTok{kind: globChar, r: r})
			i += n
		}
	}
	return g, nil
}

// compileClass parses the class starting at pattern[start] == '[' and returns the index after
// its closing ']'.
func compileClass(pattern string, start int) (globTok, int, error) {
	tok := globTok{kind: globClass}
	i := start + 1
	if i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^') {
		tok.negate = true
		i++
	}
	first := true
	for {
		if i >= len(pattern) {
			return tok, 0, fmt.Errorf("unterminated '[' at byte %d: %w", start, errGlob)
		}
		r, n := utf8.DecodeRuneInString(pattern[i:])
		if r == ']' && !first {
			i += n
			break
		}
		first = false
		if r == '\\' {
			if i+n >= len(pattern) {
				return tok, 0, fmt.Errorf("unterminated '[' at byte %d: %w", start, errGlob)
			}
			r, n = utf8.DecodeRuneInString(pattern[i+n:])
			i++
		}
		i += n
		lo, hi := r, r
		// A '-' between two characters makes a range; first or last it is literal.
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			h, m := utf8.DecodeRuneInString(pattern[i+1:])
			if h == '\\' {
				if i+1+m >= len(pattern) {
					return tok, 0, fmt.Errorf("unterminated '[' at byte %d: %w", start, errGlob)
				}
				h, m = utf8.DecodeRuneInString(pattern[i+1+m:])
				i++
			}
			if h < lo {
				return tok, 0, fmt.Errorf("range %q-%q out of order at byte %d: %w", lo, h, start, errGlob)
			}
			hi = h
			i += 1 + m
		}
		tok.ranges = append(tok.ranges, runeRange{lo, hi})
	}
	return tok, i, nil
}

// String returns the pattern as written.
func (g Glob) String() string { return g.pattern }

// Literal reports whether the pattern is a plain model name: no wildcards and no escapes.
func (g Glob) Literal() bool { return g.literal }

// Match reports whether name matches the whole pattern.
func (g Glob) Match(name string) bool {
	// Every token but '*' consumes exactly one rune, so one backtracking point (the last
	// star) suffices: the classic linear-space wildcard match.
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for si < len(name) || ti < len(g.toks) {
		if ti < len(g.toks) {
			t := &g.toks[ti]
			if t.kind == globStar {
				starTi, starSi = ti, si
				ti++
				continue
			}
			if si < len(name) {
				r, n := utf8.DecodeRuneInString(name[si:])
				if t.matches(r) {
					ti++
					si += n
					continue
				}
			}
		}
		if starTi < 0 || starSi >= len(name) {
			return false
		}
		// Let the last star swallow one more character and retry from there.
		_, n := utf8.DecodeRuneInString(name[starSi:])
		starSi += n
		ti, si = starTi+1, starSi
	}
	return true
}

func (t *globTok) matches(r rune) bool {
	switch t.kind {
	case globChar:
		return r == t.r
	case globAny:
		return true
	case globClass:
		in := false
		for _, rg := range t.ranges {
			if rg.lo <= r && r <= rg.hi {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return false
}
