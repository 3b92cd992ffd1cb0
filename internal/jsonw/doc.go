// Package jsonw appends JSON to byte slices without reflection: strings escaped as
// encoding/json escapes them, numbers in their shortest form. The request path uses it where
// encoding/json's reflection and allocations would show up in profiles.
package jsonw
