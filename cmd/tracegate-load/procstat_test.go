package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPUCountsFromTheLastParenthesis(t *testing.T) {
	// A command name with spaces and parentheses must not shift the fields.
	line := "4242 (trace gate) (x)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 75 0 0 20 0 9 0 100 0 0\n"
	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; got != want { // (250+75) ticks of 10 ms
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 u s"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\ttracegate\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nThreads:\t9\n"
	m, err := parseStatusMemory(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.rss != 20480 || m.peak != 40960 {
		t.Fatalf("got %+v", m)
	}
	if _, err := parseStatusMemory(strings.NewReader("Name:\tkthread\n")); err == nil {
		t.Error("no VmRSS: no error")
	}
	if _, err := parseStatusMemory(strings.NewReader("VmRSS:\t12 MB\n")); err == nil {
		t.Error("unexpected unit: no error")
	}
}

func TestReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Error(err)
	}
	m, err := readMemory(os.Getpid())
	if err != nil || m.rss <= 0 || m.peak < m.rss {
		t.Errorf("memory %+v, %v", m, err)
	}
}
