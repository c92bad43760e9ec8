//go:build !unix

package drift

// cpuTime is unknown off unix: loop then reports no cpu-ns/op.
func cpuTime() int64 { return 0 }
