package cloudfake

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Static AWS test credentials; CheckSigV4 re-signs each request with them and compares.
const (
	AccessKey    = "AKIDTESTTESTTESTTEST"
	SecretKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTKEY000"
	SessionToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0000000000"
)

// IsolateAWS points the AWS credential chain at the environment and at files of the test's
// own, so no developer's ~/.aws is read and no instance metadata service is asked. With
// withEnvCreds the environment holds the static test credentials. It returns the directory
// of the config and credentials files.
func IsolateAWS(t testing.TB, withEnvCreds bool) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	if withEnvCreds {
		t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
		t.Setenv("AWS_SESSION_TOKEN", SessionToken)
	}
	return dir
}

// CheckSigV4 verifies a request the way AWS does: it rebuilds the request from what arrived
// (method, path as sent, query, the signed headers, the body) and signs it again with the same
// credentials and time; the signatures must match. It returns what is wrong, "" when nothing.
func CheckSigV4(region, accessKey, secretKey, sessionToken string) func(r *http.Request, body []byte) string {
	return func(r *http.Request, body []byte) string {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
			return "not SigV4: " + auth
		}
		date := r.Header.Get("X-Amz-Date")
		if len(date) < 8 {
			return "x-amz-date " + date
		}
		scope := "Credential=" + accessKey + "/" + date[:8] + "/" + region + "/bedrock/aws4_request"
		if !strings.Contains(auth, scope) {
			return "credential scope: " + auth
		}
		if r.Header.Get("X-Amz-Security-Token") != sessionToken {
			return "session token"
		}
		when, err := time.Parse("20060102T150405Z", date)
		if err != nil {
			return "x-amz-date: " + err.Error()
		}
		i := strings.Index(auth, "SignedHeaders=")
		if i < 0 {
			return "no SignedHeaders: " + auth
		}
		signed, _, _ := strings.Cut(auth[i+len("SignedHeaders="):], ",")
		u, _ := url.Parse("http://" + r.Host + r.URL.RequestURI())
		again := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}, ContentLength: int64(len(body))}
		for _, h := range strings.Split(signed, ";") {
			switch h {
			case "host", "content-length", "x-amz-date", "x-amz-security-token":
			default:
				again.Header.Set(h, r.Header.Get(h))
			}
		}
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, SessionToken: sessionToken}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "bedrock", region, when); err != nil {
			return "re-sign: " + err.Error()
		}
		if again.Header.Get("Authorization") != auth {
			return "signature mismatch: got " + auth + ", want " + again.Header.Get("Authorization")
		}
		return ""
	}
}

// GoogleTokens is Google's OAuth token endpoint on loopback: it issues token for a service
// account's JWT assertion only when pub's private key signed it, for email and scope. It
// counts the tokens issued.
func GoogleTokens(t testing.TB, pub *rsa.PublicKey, email, scope, token string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var issued atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		problem := ""
		parts := strings.Split(r.Form.Get("assertion"), ".")
		if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || len(parts) != 3 {
			problem = "not a jwt-bearer grant"
		} else {
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var c struct{ Iss, Scope, Aud string }
			json.Unmarshal(claims, &c)
			switch {
			case rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil:
				problem = "bad signature"
			case c.Iss != email || c.Scope != scope:
				problem = "claims " + string(claims)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if problem != "" {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"`+problem+`"}`)
			return
		}
		issued.Add(1)
		io.WriteString(w, `{"access_token":"`+token+`","expires_in":3599,"token_type":"Bearer"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &issued
}

// ServiceAccountFile writes a service-account key file with a fresh RSA key whose token_uri
// is tokenURL, and returns its path, the public key and the account's email.
func ServiceAccountFile(t testing.TB, tokenURL, project string) (string, *rsa.PublicKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	email := "tracegate@" + project + ".iam.gserviceaccount.com"
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1", "token_uri": tokenURL,
	})
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, &key.PublicKey, email
}

// ServiceAccount writes a service-account key file for project whose tokens come from a
// GoogleTokens endpoint issuing token for scope, and returns the file's path and the count
// of tokens issued.
func ServiceAccount(t testing.TB, project, scope, token string) (string, *atomic.Int32) {
	t.Helper()
	file, pub, email := ServiceAccountFile(t, "", project)
	// The token endpoint must know the key before it exists: write the file again with its URL.
	srv, issued := GoogleTokens(t, pub, email, scope, token)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sa map[string]string
	json.Unmarshal(raw, &sa)
	sa["token_uri"] = srv.URL + "/token"
	raw, _ = json.Marshal(sa)
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, issued
}

// ConverseFrames encodes the events of a JSON-lines transcript ({"event":..., "payload":...}
// or {"exception":..., "payload":...} a line) as AWS event-stream frames, with the AWS SDK's
// own encoder, the reference for the format: a ConverseStream reply.
func ConverseFrames(t testing.TB, transcript string) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := eventstream.NewEncoder()
	sc := bufio.NewScanner(strings.NewReader(transcript))
	for sc.Scan() {
		var line struct {
			Event     string          `json:"event"`
			Exception string          `json:"exception"`
			Payload   json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		h := eventstream.Headers{{Name: ":content-type", Value: eventstream.StringValue("application/json")}}
		if line.Exception != "" {
			h = append(h, eventstream.Header{Name: ":message-type", Value: eventstream.StringValue("exception")},
				eventstream.Header{Name: ":exception-type", Value: eventstream.StringValue(line.Exception)})
		} else {
			h = append(h, eventstream.Header{Name: ":message-type", Value: eventstream.StringValue("event")},
				eventstream.Header{Name: ":event-type", Value: eventstream.StringValue(line.Event)})
		}
		if err := enc.Encode(&out, eventstream.Message{Headers: h, Payload: line.Payload}); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}
