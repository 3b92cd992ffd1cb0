// Package intern keeps one shared copy of the few distinct strings a hot path keeps making
// from bytes, such as the model names of requests and replies: a hit costs a map lookup and
// no allocation. A table is bounded; past its bound new strings are made as they come.
package intern
