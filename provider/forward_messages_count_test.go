package provider

import (
	"context"
	"errors"
	"testing"
)

// A countTokens reply that is JSON but has no totalTokens is the provider's failure, as a
// translated reply tracegate cannot read is on every route (502), not an internal error.
func TestGeminiCountTokensUnreadableReplyIsMalformed(t *testing.T) {
	srv := newScripted(t,
		scripted{status: 200, header: map[string]string{"Content-Type": "application/json"}, body: `{"pad":"x"}`},
		scripted{status: 200, header: map[string]string{"Content-Type": "application/json"}, body: `{"totalTokens":7}`})
	d, _ := newTestDispatcher(t, "", "", srv.URL, nil)
	body := []byte(`{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"hi"}]}`)
	tc, err := d.CountMessageTokens(context.Background(), "gemini-2.0-flash", body, MessagesHeaders{}, OnceMessagesDecoder(body, true))
	if !errors.Is(err, ErrMalformedReply) {
		t.Fatalf("a reply without totalTokens: %+v, %v; want ErrMalformedReply", tc, err)
	}
	if n := srv.count(); n != 1 {
		t.Fatalf("%d requests: a malformed reply is not retried", n)
	}
	tc, err = d.CountMessageTokens(context.Background(), "gemini-2.0-flash", body, MessagesHeaders{}, OnceMessagesDecoder(body, true))
	if err != nil || tc.InputTokens != 7 {
		t.Fatalf("count: %+v, %v", tc, err)
	}
}
