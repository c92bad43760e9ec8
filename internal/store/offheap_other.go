//go:build !unix

package store

// offHeapUint64s returns n zeroed uint64s (in the heap where memory cannot be
// mapped).
func offHeapUint64s(_ *idIndex, n int) []uint64 { return make([]uint64, n) }
