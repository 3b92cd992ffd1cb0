package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/tracegate/tracegate/config"
	"github.com/tracegate/tracegate/llm"
	"github.com/tracegate/tracegate/translate/bedrock"
)

// Bedrock is called through the Converse API: POST {base}/model/{modelId}/converse, and
// /converse-stream for streams, whose reply is binary event-stream frames. The model id may be
// a foundation model (anthropic.claude-...), a cross-region inference profile (us., eu.,
// apac., global. ...) or an ARN; it is escaped as a path label, as the AWS SDK does.
//
// Auth is SigV4 (service "bedrock") with credentials from the AWS SDK's default chain
// (environment, shared config and credentials files with profiles, SSO, web identity,
// container and instance roles), or a Bedrock API key sent as a bearer token. The SDK's
// signer and credential chain are used rather than own code: the chain alone is a dozen
// sources with caching and refresh, and signing is security-critical canonicalisation that
// the SDK keeps right.

// awsConfigTimeout bounds reading the AWS configuration at startup.
const awsConfigTimeout = 10 * time.Second

const bedrockCredentialsHint = "AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a role, or AWS_BEARER_TOKEN_BEDROCK as api_key"

func setupBedrock(b *Backend, p config.Provider) error {
	mode := p.AuthMode()
	region := p.Region
	var creds aws.CredentialsProvider
	if mode == config.AuthSigV4 || region == "" {
		cfg, err := loadAWSConfig(p)
		if err != nil {
			return err
		}
		region, creds = cfg.Region, cfg.Credentials
	}
	if region == "" {
		return fmt.Errorf("no AWS region: set region, AWS_REGION or the profile's region")
	}
	if b.BaseURL == "" {
		b.BaseURL = "https://bedrock-runtime." + region + ".amazonaws.com"
	}
	opts := bedrock.EncodeOptions{CachePoints: p.PromptCache}
	c := &codec{
		path: bedrockPath,
		encode: func(dst []byte, req *llm.Request) ([]byte, error) {
			return bedrock.EncodeRequestWith(dst, req, opts)
		},
		decode:        bedrock.DecodeResponse,
		decodeError:   bedrock.DecodeError,
		streamDecoder: func(r io.Reader) streamDecoder { return bedrock.NewStreamDecoder(r) },
	}
	switch mode {
	case config.AuthBearer:
		c.auth = func(set func(k, v string), key string) { set("Authorization", "Bearer "+key) }
		c.authorize = func(_ context.Context, req *http.Request, _ []byte) error {
			setBedrockAccept(req)
			return nil
		}
	case config.AuthSigV4:
		if creds == nil {
			return fmt.Errorf("no AWS credentials provider")
		}
		s := &sigV4{provider: p.Name, creds: creds, region: region, signer: v4.NewSigner()}
		b.authorizeWith(c, s.authorize)
	default:
		return fmt.Errorf("auth %q: not a bedrock auth mode", mode)
	}
	b.codec = c
	b.countTokens = bedrockCounter(opts)
	return nil
}

// loadAWSConfig reads the AWS configuration the way the AWS CLI and SDKs do, with the
// provider's region, profile and credentials file taking precedence.
func loadAWSConfig(p config.Provider) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if p.Region != "" {
		opts = append(opts, awsconfig.WithRegion(p.Region))
	}
	if p.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p.Profile))
	}
	if p.CredentialsFile != "" {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{p.CredentialsFile}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), awsConfigTimeout)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	return cfg, nil
}

func bedrockPath(model string, stream bool) string {
	op := "/converse"
	if stream {
		op = "/converse-stream"
	}
	return "/model/" + escapeLabel(model) + op
}

// escapeLabel escapes a path label as the AWS SDK does: everything but the unreserved
// characters, so an ARN's ':' and '/' stay inside one segment.
func escapeLabel(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// setBedrockAccept asks for event-stream frames on streams (the stream client's default
// Accept is SSE's) and JSON otherwise.
func setBedrockAccept(req *http.Request) {
	if strings.HasSuffix(req.URL.Path, "/converse-stream") {
		req.Header.Set("Accept", "application/vnd.amazon.eventstream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
}

// sigV4 signs Bedrock requests with the AWS SDK's signer.
type sigV4 struct {
	provider string
	creds    aws.CredentialsProvider
	region   string
	signer   *v4.Signer
}

// signedHeaders are the headers that reach the signer, and so the signature: the ones whose
// change would alter the request's meaning. Accept and the configured extra headers are
// left unsigned, which SigV4 allows.
var signedHeaders = [...]string{"Content-Type"}

// authorize signs req as it will be sent: method, escaped path, query, host, content type and
// the SHA-256 of the body.
func (s *sigV4) authorize(ctx context.Context, req *http.Request, body []byte) error {
	setBedrockAccept(req)
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return credentialsError(s.provider, bedrockCredentialsHint, err)
	}
	// A request of its own with only the signed headers, so that Accept and the configured
	// extras stay out of the signature; its URL is the one sent (RawPath keeps the escaped
	// model id SigV4 signs).
	sum := sha256.Sum256(body)
	hr := &http.Request{Method: req.Method, URL: req.URL, Host: req.URL.Host, Header: http.Header{}, ContentLength: int64(len(body))}
	for _, k := range signedHeaders {
		if v := req.Header.Get(k); v != "" {
			hr.Header.Set(k, v)
		}
	}
	if err := s.signer.SignHTTP(ctx, creds, hr, hex.EncodeToString(sum[:]), "bedrock", s.region, time.Now().UTC()); err != nil {
		return fmt.Errorf("sign %s request: %w", s.provider, err)
	}
	for _, k := range [...]string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := hr.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	return nil
}
