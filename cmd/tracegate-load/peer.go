package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// peerGateway is another gateway measured in the same compare run (-peer NAME=URL): LiteLLM,
// Bifrost, Portkey, the null gateway itself. The tool cannot configure it: the user points one
// of its OpenAI-compatible providers at the mock upstream (fixed with -mock-upstream, so the
// URL is known before the run) and the model the tool requests (-model).
type peerGateway struct {
	name    string
	chatURL string        // the peer's POST /v1/chat/completions
	headers []headerField // sent with every request to it (-peer-header)
}

// headerField is one request header the tool sends as given.
type headerField struct{ name, value string }

// peerFlags collects repeated -peer flags.
type peerFlags struct{ peers *[]peerGateway }

var peerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`)

func (f peerFlags) String() string {
	if f.peers == nil {
		return ""
	}
	parts := make([]string, len(*f.peers))
	for i, p := range *f.peers {
		parts[i] = p.name + "=" + p.chatURL
	}
	return strings.Join(parts, ",")
}

// Set parses NAME=URL. URL is the peer's base URL (http://127.0.0.1:4000, with or without /v1)
// or its full chat completions URL; loopback only, like every URL the tool calls.
func (f peerFlags) Set(v string) error {
	name, raw, ok := strings.Cut(v, "=")
	if !ok || name == "" || raw == "" {
		return fmt.Errorf("%q: want NAME=URL, e.g. litellm=http://127.0.0.1:4000", v)
	}
	if !peerNamePattern.MatchString(name) {
		return fmt.Errorf("peer name %q: lowercase letters, digits, '.', '_' and '-', at most 32", name)
	}
	for _, p := range allPhases {
		if p.name == name || p.name == name+streamSuffix || p.name+streamSuffix == name {
			return fmt.Errorf("peer name %q is taken by a built-in phase", name)
		}
	}
	for _, p := range *f.peers {
		if p.name == name || p.name+streamSuffix == name || p.name == name+streamSuffix {
			return fmt.Errorf("peer %q clashes with peer %q (rows NAME and NAME%s)", name, p.name, streamSuffix)
		}
	}
	u, err := loopbackURL(raw)
	if err != nil {
		return fmt.Errorf("peer %s: %w", name, err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("peer %s: %q: no query or fragment, the tool adds the path", name, raw)
	}
	path := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
	case strings.HasSuffix(path, "/v1"):
		path += "/chat/completions"
	default:
		path += "/v1/chat/completions"
	}
	u.Path = path
	*f.peers = append(*f.peers, peerGateway{name: name, chatURL: u.String()})
	return nil
}

const streamSuffix = "-stream"

// withPeerPhases adds each peer's phases: NAME right after the last non-streaming phase,
// NAME-stream right after the last streaming one, so every peer is measured in the same run,
// on the same mock, between the same direct and null gateway rows as tracegate, and compared
// with both. A run without streaming phases measures peers without streaming too.
func withPeerPhases(phases []phaseKind, peers []peerGateway) ([]phaseKind, error) {
	if len(peers) == 0 {
		return phases, nil
	}
	lastPlain, lastStream := -1, -1
	for i, p := range phases {
		if p.peerURL != "" {
			return nil, errors.New("peer phases are added once")
		}
		if p.stream {
			lastStream = i
		} else {
			lastPlain = i
		}
	}
	out := make([]phaseKind, 0, len(phases)+2*len(peers))
	for i, p := range phases {
		out = append(out, p)
		if i == lastPlain {
			for _, peer := range peers {
				out = append(out, phaseKind{name: peer.name, peerURL: peer.chatURL, peerHeaders: peer.headers,
					baseline: "direct", nullBaseline: "null"})
			}
		}
		if i == lastStream {
			for _, peer := range peers {
				out = append(out, phaseKind{name: peer.name + streamSuffix, peerURL: peer.chatURL, peerHeaders: peer.headers, stream: true,
					baseline: "direct-stream", nullBaseline: "null-stream"})
			}
		}
	}
	return out, nil
}

// peerHeaderFlags collects repeated -peer-header flags, NAME=Header: value, as given; they are
// matched to their peers once every flag is parsed (attachPeerHeaders), so the two flags can
// come in any order. Some gateways are routed per request rather than by a config file:
// Portkey's open-source gateway takes the provider and its URL in x-portkey-provider and
// x-portkey-custom-host.
type peerHeaderFlags struct{ raw *[]string }

func (f peerHeaderFlags) String() string {
	if f.raw == nil {
		return ""
	}
	return strings.Join(*f.raw, ",")
}

func (f peerHeaderFlags) Set(v string) error {
	*f.raw = append(*f.raw, v)
	return nil
}

// toolHeaders are the headers the tool sets itself for the request it sends: a peer header
// may not replace them (Authorization it may: a peer's own key).
var toolHeaders = map[string]bool{
	"host": true, "content-type": true, "content-length": true, "transfer-encoding": true,
	"connection": true, "accept": true, "te": true, "upgrade": true,
}

// attachPeerHeaders parses every -peer-header value and gives it to the peer it names.
func attachPeerHeaders(peers []peerGateway, raw []string) error {
	for _, v := range raw {
		name, header, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return fmt.Errorf("%q: want NAME=Header: value, e.g. 'portkey=x-portkey-provider: openai'", v)
		}
		h, err := parseHeaderField(header)
		if err != nil {
			return fmt.Errorf("peer %s: %w", name, err)
		}
		i := slices.IndexFunc(peers, func(p peerGateway) bool { return p.name == name })
		if i < 0 {
			return fmt.Errorf("%q: no -peer named %s", v, name)
		}
		peers[i].headers = append(peers[i].headers, h)
	}
	return nil
}

// parseHeaderField parses "Header: value": the name an HTTP token, the value without control
// characters (which could split the request), space around it trimmed.
func parseHeaderField(s string) (headerField, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return headerField{}, fmt.Errorf("header %q: want Header: value", s)
	}
	for _, c := range []byte(name) {
		if !isTokenChar(c) {
			return headerField{}, fmt.Errorf("header name %q: not an HTTP token", name)
		}
	}
	if toolHeaders[strings.ToLower(name)] {
		return headerField{}, fmt.Errorf("header %s: the tool sets it itself", name)
	}
	value = strings.TrimSpace(value)
	for _, c := range []byte(value) {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return headerField{}, fmt.Errorf("header %s: a control character in its value", name)
		}
	}
	return headerField{name: name, value: value}, nil
}

// isTokenChar is RFC 9110's tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
