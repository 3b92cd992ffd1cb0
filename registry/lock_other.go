//go:build !unix

package registry

import "os"

// Without flock, writers are serialised within the process only: share a writable prompt
// directory between instances on Unix systems.
func tryLockFile(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) error { return nil }
