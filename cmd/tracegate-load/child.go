package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// compare runs the mock upstream and the null gateway as processes of their own, started from
// this binary, so that a direct call crosses a process boundary just as a call through a
// gateway does. Each child prints "<name>: listening on <host:port>" once it has bound its
// listener, and exits when its stdin closes, so it dies with the tool even if the tool is
// killed without a chance to clean up.

// listeningMarker is what a child prints before its address once it accepts connections.
const listeningMarker = ": listening on "

// Bounds on starting and stopping a child.
const (
	childReadyLimit  = 15 * time.Second
	childStopGrace   = 3 * time.Second
	childOutputBytes = 4 << 10
	childLineBytes   = 512
)

// childProcess is a copy of this tool the tool started and must stop.
type childProcess struct {
	name    string
	cmd     *exec.Cmd
	addr    string // host:port it listens on
	stdin   io.WriteCloser
	out     *childOutput
	exited  chan struct{}
	waitErr error
}

// startSelf re-executes this binary with args and waits, at most limit, for the child to say
// where it listens.
func startSelf(ctx context.Context, name string, args []string, limit time.Duration) (*childProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, args...)
	out := &childOutput{addr: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &childProcess{name: name, cmd: cmd, stdin: stdin, out: out, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case p.addr = <-out.addr:
		return p, nil
	case <-p.exited:
		err = fmt.Errorf("%s exited before listening (%v); output: %s", name, p.waitErr, out.tail())
	case <-ctx.Done():
		err = fmt.Errorf("waiting for %s: %w", name, ctx.Err())
	case <-timer.C:
		err = fmt.Errorf("%s did not say where it listens within %s; output: %s", name, limit, out.tail())
	}
	_ = p.stop()
	return nil, err
}

func (p *childProcess) pid() int { return p.cmd.Process.Pid }

// exitError says why a child is gone, or is nil while it runs.
func (p *childProcess) exitError() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); output: %s", p.name, p.waitErr, p.out.tail())
	default:
		return nil
	}
}

// stop closes the child's stdin, which asks it to shut down, and kills it if it has not
// exited within childStopGrace. It returns once the child is reaped.
func (p *childProcess) stop() error {
	_ = p.stdin.Close()
	timer := time.NewTimer(childStopGrace)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.exited // a killed process is always reaped
	return fmt.Errorf("%s did not stop within %s of its stdin closing; killed", p.name, childStopGrace)
}

// childOutput collects a child's stdout and stderr: the last few KiB for error messages, and
// the address from the first "listening on" line.
type childOutput struct {
	mu    sync.Mutex
	buf   []byte
	line  []byte
	found bool
	addr  chan string
}

func (o *childOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if over := len(o.buf) - childOutputBytes; over > 0 {
		o.buf = append(o.buf[:0], o.buf[over:]...)
	}
	for rest := p; !o.found && len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			o.appendLine(rest)
			break
		}
		o.appendLine(rest[:i])
		if addr, ok := listeningAddr(string(o.line)); ok {
			o.found = true
			o.addr <- addr
		}
		o.line = o.line[:0]
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (o *childOutput) appendLine(p []byte) {
	o.line = append(o.line, p[:min(len(p), childLineBytes-len(o.line))]...)
}

func (o *childOutput) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.buf) == 0 {
		return "(none)"
	}
	lines := strings.Split(strings.TrimSpace(string(o.buf)), "\n")
	return oneLine(strings.Join(lines[max(0, len(lines)-3):], " | "))
}

// listeningAddr reads the host:port from a "name: listening on host:port ..." line.
func listeningAddr(line string) (string, bool) {
	_, after, ok := strings.Cut(line, listeningMarker)
	if !ok {
		return "", false
	}
	fields := strings.Fields(after)
	if len(fields) == 0 {
		return "", false
	}
	addr := strings.TrimRight(fields[0], ",;")
	if loopbackAddr(addr) != nil {
		return "", false
	}
	return addr, true
}

// serveContext is how long a serving subcommand runs: until ctx ends, lifetime passes, or,
// with exitOnStdinEOF, its stdin closes (the parent that started it stopped or died).
func serveContext(ctx context.Context, lifetime time.Duration, exitOnStdinEOF bool) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, lifetime)
	if exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin) // returns at EOF or on a read error
			cancel()
		}()
	}
	return ctx, cancel
}
