// Package jsonscan finds members of JSON objects in bodies that are passed on untouched,
// without decoding the rest: the passthrough paths read a few top-level fields (model,
// stream, usage) and splice some of them. Object walks one object's members and reports each
// value's byte span; it checks structure (strings, nesting, commas, colons) but not the
// grammar of numbers and literals, since the provider validates the body anyway. It is
// shared by the translate packages, each of which owns one wire format.
package jsonscan
