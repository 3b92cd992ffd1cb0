package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat. The kernel reports them in
// USER_HZ, which is 100 on every Linux architecture Go supports, whatever CONFIG_HZ is; reading
// sysconf(_SC_CLK_TCK) would need cgo for a constant. The 10 ms resolution is why CPU is read
// around whole phases, never around single requests.
const userHZ = 100

// cpuTime is the user plus system CPU a process has used so far, its exited threads included.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	return parseStatCPU(raw)
}

// parseStatCPU reads fields 14 and 15 (utime, stime) of a /proc/<pid>/stat line. The command
// name, field 2, is in parentheses and may itself contain spaces and parentheses, so fields
// are counted from the last ')'.
func parseStatCPU(raw []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(raw, ')')
	if end < 0 {
		return 0, errors.New("stat: no command name")
	}
	fields := strings.Fields(string(raw[end+1:]))
	// fields[0] is field 3 (state), so utime (14) and stime (15) are fields[11] and fields[12].
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: utime/stime: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// memoryKB is a process's resident set now (VmRSS) and at its peak (VmHWM), in KiB.
type memoryKB struct {
	rss  int64
	peak int64
}

func readMemory(pid int) (memoryKB, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memoryKB{}, fmt.Errorf("read memory: %w", err)
	}
	defer f.Close()
	return parseStatusMemory(f)
}

func parseStatusMemory(r io.Reader) (memoryKB, error) {
	var m memoryKB
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(value) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return memoryKB{}, fmt.Errorf("status: %s: unexpected value %q", key, value)
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return memoryKB{}, fmt.Errorf("status: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.rss = n
		} else {
			m.peak = n
		}
	}
	if err := sc.Err(); err != nil {
		return memoryKB{}, fmt.Errorf("status: %w", err)
	}
	if m.rss == 0 {
		return memoryKB{}, errors.New("status: no VmRSS line")
	}
	return m, nil
}
