package faults

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUpstreamRefusalsAreJSON: what the fake provider refuses comes back as the provider's
// JSON error, even when the message quotes what the call sent.
func TestUpstreamRefusalsAreJSON(t *testing.T) {
	srv := httptest.NewServer(&Upstream{BearerToken: "tok", arrived: map[string]int{}, dropped: map[string]int{}})
	defer srv.Close()
	for _, path := range []string{
		"/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-x:bad%22method",
		"/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-x:rawPredict",
		"/v1beta/models/gemini-x:bad%22method",
	} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"anthropic_version":"say \"hi\""}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || err != nil || body.Error.Status != "INVALID_ARGUMENT" || !strings.Contains(body.Error.Message, `"`) {
			t.Errorf("%s: %d %+v (%v)", path, resp.StatusCode, body, err)
		}
	}
}
