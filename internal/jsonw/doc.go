// Package jsonw appends JSON to byte slices without reflection: strings escaped as
// encoding/json escapes them, numbers in their shortest form. The request path uses it where
// encoding/json's reflection and allocations would show up in profiles.
//
// It is the one JSON writer of the gateway and of the translate packages, so that every body
// tracegate writes escapes strings the same way. Besides the scalar writers it holds the few
// raw-JSON checks the encoders share (TrimSpace, IsObject, IsNull) and Value, which re-encodes
// a fastjson value because fastjson's own MarshalTo can write invalid JSON.
package jsonw
