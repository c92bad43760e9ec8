//go:build unix

package store

import (
	"runtime"
	"syscall"
	"unsafe"
)

// offHeapUint64s returns n zeroed uint64s in anonymous memory mapped outside the Go
// heap, given back to the system once owner is unreachable; where mapping fails,
// ordinary heap memory. The recent-id table lives as long as its Logger and holds
// no pointers: in the heap, its 6 MB would count in the GC's heap goal, which with
// GOGC=400 (serve.TuneGC) lets the heap, and RSS, grow by five times that.
func offHeapUint64s(owner *idIndex, n int) []uint64 {
	if n <= 0 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n)
	}
	runtime.AddCleanup(owner, func(b []byte) { _ = syscall.Munmap(b) }, b)
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
