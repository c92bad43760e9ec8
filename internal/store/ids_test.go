package store

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestIDIndexRecent checks the fixed-size recent-id set against a map and a list of
// the last ids: after each add, exactly the last `capacity` distinct ids are known.
// The hashes are drawn from a small range and masked so that probe runs collide,
// wrap around the table's end and are shifted back by removals.
func TestIDIndexRecent(t *testing.T) {
	for _, capacity := range []int{1, 3, 8, 100, 1000} {
		x := newIDIndex(capacity)
		rng := rand.New(rand.NewPCG(uint64(capacity), 7))
		var order []uint64 // distinct ids in the order remembered
		inOrder := map[uint64]bool{}
		for step := range 20 * capacity {
			h := 1 + rng.Uint64N(uint64(3*capacity))
			if rng.IntN(2) == 0 {
				h |= x.recent.mask + 1 // same home slot as h&mask, another id
			}
			x.addRecentLocked(h)
			if !inOrder[h] {
				order = append(order, h)
				inOrder[h] = true
				if len(order) > capacity {
					delete(inOrder, order[0])
					order = order[1:]
				}
			}
			for _, k := range order {
				if !x.recentLocked(k) {
					t.Fatalf("capacity %d, step %d: remembered id %#x not found", capacity, step, k)
				}
			}
			n := 0
			for _, v := range x.recent.slots {
				if v != 0 {
					n++
					if !inOrder[v] {
						t.Fatalf("capacity %d, step %d: forgotten id %#x still in the set", capacity, step, v)
					}
				}
			}
			if n != len(order) {
				t.Fatalf("capacity %d, step %d: %d ids in the set, want %d", capacity, step, n, len(order))
			}
			if x.recentLocked(h^(1<<62)) && !inOrder[h^(1<<62)] {
				t.Fatalf("capacity %d: unknown id found", capacity)
			}
		}
		if len(x.recent.slots) < 2*capacity {
			t.Fatalf("capacity %d: %d slots, want >= %d", capacity, len(x.recent.slots), 2*capacity)
		}
	}
}

// TestIDIndexRecentAllocs: remembering ids allocates nothing once the index exists
// (its memory does not grow under load).
func TestIDIndexRecentAllocs(t *testing.T) {
	x := newIDIndex(1 << 12)
	var h uint64 = 1
	allocs := testing.AllocsPerRun(10000, func() {
		h = h*6364136223846793005 + 1442695040888963407
		x.addRecentLocked(h | 1)
	})
	if allocs != 0 {
		t.Fatalf("addRecentLocked: %v allocs per id, want 0", allocs)
	}
	var none idIndex // RecentIDs < 0: nothing remembered
	none.addRecentLocked(5)
	if none.recentLocked(5) {
		t.Fatal("an index without capacity remembered an id")
	}
}

// TestIDIndexReleased: indexes dropped and collected give their table back (the
// cleanup unmaps it) without disturbing the live one.
func TestIDIndexReleased(t *testing.T) {
	keep := newIDIndex(1 << 10)
	keep.addRecentLocked(42)
	for i := range 200 {
		x := newIDIndex(1 << 16)
		for h := uint64(1); h < 1000; h++ {
			x.addRecentLocked(h*0x9e3779b97f4a7c15 | 1)
		}
		if i%20 == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	runtime.GC()
	if !keep.recentLocked(42) || keep.recentLocked(43) {
		t.Fatal("the live index changed")
	}
}
