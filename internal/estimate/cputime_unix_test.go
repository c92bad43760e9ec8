//go:build unix

package estimate

import (
	"syscall"
	"time"
)

// cpuTime returns the process's user+system CPU time: wall time is unreliable on
// a shared, overloaded machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
