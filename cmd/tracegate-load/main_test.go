package main

import (
	"os"
	"testing"
)

// actAsToolEnv makes a re-executed test binary act as the tool. compare starts its mock
// upstream and null gateway from os.Executable(), which under go test is the test binary, so
// TestMain hands such children to main instead of running the tests again.
const actAsToolEnv = "TRACEGATE_LOAD_TEST_ACT_AS_TOOL"

func TestMain(m *testing.M) {
	if os.Getenv(actAsToolEnv) == "1" {
		main() // exits
	}
	if err := os.Setenv(actAsToolEnv, "1"); err != nil { // inherited by the children tests start
		panic(err)
	}
	os.Exit(m.Run())
}
