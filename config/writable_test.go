package config

import (
	"strings"
	"testing"
)

const writableBase = `
providers: [{name: mock, type: mock}]
registry:
  sources:
`

func TestWritableFileSource(t *testing.T) {
	c, err := Parse([]byte(writableBase+"    - {type: file, path: ./prompts, writable: true}\n"), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Registry.Sources[0].Writable {
		t.Error("writable not read")
	}
	// The shipped config's form: off unless the variable turns it on.
	c, err = Parse([]byte(writableBase+"    - {type: file, path: ./prompts, writable: ${W:-false}}\n"), envOf(map[string]string{"W": "true"}))
	if err != nil || !c.Registry.Sources[0].Writable {
		t.Fatalf("writable from env: %v", err)
	}
	_, err = Parse([]byte(writableBase+"    - {type: http, base_url: \"http://127.0.0.1:1\", writable: true}\n"), envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "registry.sources[0]: writable applies to file sources only") {
		t.Fatalf("writable http source: %v", err)
	}
	if _, err = Parse([]byte(writableBase+"    - {type: file, path: ./p, writable: yes-please}\n"), envOf(nil)); err == nil {
		t.Fatal("non-bool writable accepted")
	}
}
