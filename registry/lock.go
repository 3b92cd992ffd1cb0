package registry

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// writeLockWait bounds how long a write waits for another writer of the same slug: a writer
// stuck on a dead network file system must not hang the request.
const writeLockWait = 10 * time.Second

// lockRetry is how often a held lock file is tried again.
const lockRetry = 5 * time.Millisecond

// writeLockFile is the lock file writers of every process (each tracegate sharing the
// directory) take. One file for the directory, not one per slug: writes are rare, and lock
// files of deleted prompts would pile up (a lock file cannot be removed safely: another writer
// may have just opened it).
const writeLockFile = ".tracegate.lock"

// lockSlugs takes the write lock of the slugs (two for a rename): a mutex per slug for this
// process's writers, taken in one order so that two renames cannot deadlock, then an exclusive
// lock on the directory's lock file for those of every other process.
func (s *FileSource) lockSlugs(ctx context.Context, slugs ...string) (func(), error) {
	var stripes []int
	for _, slug := range slugs {
		h := fnv.New32a()
		h.Write([]byte(slug))
		stripes = append(stripes, int(h.Sum32()%uint32(len(s.slugLocks))))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		s.slugLocks[i].Lock()
	}
	unlockStripes := func() {
		for _, i := range slices.Backward(stripes) {
			s.slugLocks[i].Unlock()
		}
	}
	slug := strings.Join(slugs, ", ")
	// A writable directory that does not exist yet is made on the first write.
	err := os.MkdirAll(s.dir, 0o755)
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(filepath.Join(s.dir, writeLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	}
	if err != nil {
		unlockStripes()
		return nil, fmt.Errorf("lock prompt %q: %w", slug, err)
	}
	deadline := time.Now().Add(writeLockWait)
	for {
		locked, err := tryLockFile(f)
		if err != nil {
			f.Close()
			unlockStripes()
			return nil, fmt.Errorf("lock prompt %q: %w", slug, err)
		}
		if locked {
			break
		}
		if err := ctx.Err(); err != nil || time.Now().After(deadline) {
			f.Close()
			unlockStripes()
			if err == nil {
				err = context.DeadlineExceeded
			}
			return nil, fmt.Errorf("prompt %q is being written by another process: %w", slug, err)
		}
		time.Sleep(lockRetry)
	}
	return func() {
		_ = unlockFile(f)
		f.Close()
		unlockStripes()
	}, nil
}
