//go:build unix

package drift

import "syscall"

// cpuTime returns the process's user+system CPU time in nanoseconds (0 if unknown).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
