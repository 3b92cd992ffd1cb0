package provider

import (
	"context"
	"errors"
	"testing"
)

// A stored-response reply is passed back as it came, errors included; a 2xx that is not
// JSON (a proxy's HTML page) is the provider's failure, not a stored response.
func TestStoredResponseNonJSONSuccessIsMalformed(t *testing.T) {
	srv := newScripted(t,
		scripted{status: 200, header: map[string]string{"Content-Type": "application/json"}, body: "<html><body>502 Bad Gateway</body></html>"},
		scripted{status: 404, body: "<html>not found</html>"},
		scripted{status: 200, body: `{"id":"resp_1","object":"response","deleted":true}`})
	d, _ := newTestDispatcher(t, srv.URL, "", "", nil)
	if sr, err := d.StoredResponse(context.Background(), "GET", "resp_1", "", "openai"); !errors.Is(err, ErrMalformedReply) {
		t.Fatalf("a 200 that is not JSON: %+v, %v; want ErrMalformedReply", sr, err)
	}
	sr, err := d.StoredResponse(context.Background(), "GET", "resp_1", "", "openai")
	if err != nil || sr.Status != 404 || string(sr.Body) != "<html>not found</html>" {
		t.Fatalf("an error reply is passed back as it came: %+v, %v", sr, err)
	}
	sr, err = d.StoredResponse(context.Background(), "DELETE", "resp_1", "", "openai")
	if err != nil || sr.Status != 200 || string(sr.Body) != `{"id":"resp_1","object":"response","deleted":true}` {
		t.Fatalf("delete: %+v, %v", sr, err)
	}
}
