package main

import (
	"fmt"
	"math"
	"os"
	"strings"
)

// suite runs named tests and counts them.
type suite struct {
	passed, failed int
	tallyPath      string
}

// test collects the failed assertions of one named test.
type test struct {
	name string
	errs []string
}

// stopTest unwinds a test whose remaining assertions cannot run (see test.require).
type stopTest struct{}

// run runs f as one test and reports it.
func (s *suite) run(name string, f func(t *test)) {
	t := &test{name: name}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopTest); !ok {
					t.errs = append(t.errs, fmt.Sprintf("panic: %v", r))
				}
			}
		}()
		f(t)
	}()
	if len(t.errs) == 0 {
		s.passed++
		fmt.Printf("ok   - %s\n", name)
		return
	}
	s.failed++
	fmt.Printf("FAIL - %s\n", name)
	for _, e := range t.errs {
		fmt.Printf("         %s\n", e)
	}
}

// finish appends the counts to the tally file and reports whether every test passed.
func (s *suite) finish() error {
	if s.tallyPath != "" {
		f, err := os.OpenFile(s.tallyPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, werr := fmt.Fprintf(f, "%d %d\n", s.passed, s.failed)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	if s.failed > 0 {
		return fmt.Errorf("%d of %d tests failed", s.failed, s.passed+s.failed)
	}
	return nil
}

// check records a failed assertion unless ok; it reports ok.
func (t *test) check(ok bool, format string, args ...any) bool {
	if !ok {
		t.errs = append(t.errs, fmt.Sprintf(format, args...))
	}
	return ok
}

// require is check that ends the test on failure, for assertions the rest depends on.
func (t *test) require(ok bool, format string, args ...any) {
	if !t.check(ok, format, args...) {
		panic(stopTest{})
	}
}

// noErr requires err to be nil.
func (t *test) noErr(err error, what string) {
	if err != nil {
		t.require(false, "%s: %v", what, err)
	}
}

// approx reports whether a and b agree to 1e-9 relative (or 1e-15 absolute near zero).
func approx(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))+1e-15
}

// pad32 left-pads a 16-hex trace id to the 32-hex form.
func pad32(id string) string {
	if len(id) < 32 {
		return strings.Repeat("0", 32-len(id)) + id
	}
	return id
}
