// Package sse reads Server-Sent Events frames (the text/event-stream format every provider
// streams in) from a reader, accepting LF and CRLF line endings.
package sse
