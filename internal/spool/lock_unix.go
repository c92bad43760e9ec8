//go:build unix

package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes an exclusive flock on <dir>/LOCK and writes this process's pid into
// it. The kernel releases the lock when the process ends, however it ends, so a
// crashed owner never blocks a restart. A second lock of the same directory fails
// with ErrLocked, also within one process (flock locks belong to the open file).
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "unknown pid"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
					holder = "pid " + strconv.Itoa(pid)
				}
			}
			return nil, fmt.Errorf("%w: %s is locked by another process (%s); two processes must not share a spool directory: give each its own --spool-dir", ErrLocked, dir, holder)
		}
		return nil, fmt.Errorf("spool: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func (s *Spool) unlock() {
	if s.lock != nil {
		// Closing the file releases the flock; the file stays (removing it would
		// let a process that opened it before the removal lock a dead inode).
		_ = s.lock.Close()
		s.lock = nil
	}
}
