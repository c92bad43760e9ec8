package store

import (
	"hash/maphash"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// DefaultRecentIDs is LoggerOptions.RecentIDs' default (6 MB, mapped at start
// outside the Go heap).
const DefaultRecentIDs = 1 << 18

// idIndex is what a Logger with a spool knows of the ids it must refuse while the
// database cannot: the ids in the spool (rebuilt from the spool's files at start) and
// the last ids this process had acknowledged by the database. It holds 64-bit hashes,
// not ids: a false 409 needs two ids with the same hash (about n/2^64 per lookup).
// Memory: the recent ids are a fixed-size set mapped at start outside the Go heap
// (offHeapUint64s), 24 bytes per remembered id (262,144 recent ids: 6 MB of address
// space, resident as the ids come; the heap does not grow under load, and the GC's
// heap goal does not count them); the spooled ids about 46 bytes per
// spooled record (a full 1 GiB spool of /predict records, 470-670 bytes of BSON
// each: 75-100 MB), nothing while the spool is empty.
// It cannot know the ids other processes stored, nor those this process stored
// before the recent ones or before it started: the drain finds those (see
// Logger.insertIdempotent).
type idIndex struct {
	seed maphash.Seed

	mu      sync.Mutex
	spooled map[uint64]int32 // hash -> records with that id in the spool
	recent  hashSet          // the ids of ring
	ring    []uint64         // recent, oldest first from next; fixed capacity
	next    int
}

func newIDIndex(recent int) *idIndex {
	x := &idIndex{
		seed:    maphash.MakeSeed(),
		spooled: map[uint64]int32{},
	}
	if recent > 0 {
		// One mapping outside the Go heap: the table, then the ring.
		n := hashSetSlots(recent)
		mem := offHeapUint64s(x, n+recent)
		x.recent = hashSet{slots: mem[:n:n], mask: uint64(n - 1)}
		x.ring = mem[n:n:len(mem)]
	}
	return x
}

// hashID hashes doc's _id (its BSON type and value); ok is false without one. The
// hash is never 0 (the empty slot of hashSet).
func (x *idIndex) hashID(doc bson.Raw) (uint64, bool) {
	v, err := doc.LookupErr("_id")
	if err != nil {
		return 0, false
	}
	var h maphash.Hash
	h.SetSeed(x.seed)
	_ = h.WriteByte(byte(v.Type))
	_, _ = h.Write(v.Value)
	s := h.Sum64()
	if s == 0 {
		s = 1
	}
	return s, true
}

// known reports whether h is in the spool or was recently acknowledged. Called with
// x.mu held.
func (x *idIndex) knownLocked(h uint64) bool {
	if x.spooled[h] > 0 {
		return true
	}
	return x.recent.has(h)
}

// recentLocked reports whether h was recently acknowledged. Called with x.mu held.
func (x *idIndex) recentLocked(h uint64) bool { return x.recent.has(h) }

// inSpool reports whether any of hs is in the spool; cheap while it is empty.
func (x *idIndex) spoolHas(h uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.spooled[h] > 0
}

func (x *idIndex) spoolEmpty() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.spooled) == 0
}

func (x *idIndex) addSpooledLocked(h uint64) { x.spooled[h]++ }

func (x *idIndex) removeSpooledLocked(h uint64) {
	if n := x.spooled[h]; n > 1 {
		x.spooled[h] = n - 1
	} else {
		delete(x.spooled, h)
	}
}

// addRecentLocked remembers h as acknowledged, forgetting the oldest once the ring
// (of the capacity given to newIDIndex) is full.
func (x *idIndex) addRecentLocked(h uint64) {
	if cap(x.ring) == 0 || !x.recent.add(h) {
		return
	}
	if len(x.ring) < cap(x.ring) {
		x.ring = append(x.ring, h)
		return
	}
	x.recent.remove(x.ring[x.next])
	x.ring[x.next] = h
	x.next = (x.next + 1) % len(x.ring)
}

// hashSet is a fixed-size set of nonzero uint64 hashes: open addressing with linear
// probing, at most half full, deletion by backward shift (no tombstones, so that its
// probes stay short however many ids come and go). Its slots are allocated once.
type hashSet struct {
	slots []uint64 // 0: empty
	mask  uint64
}

// hashSetSlots is the table size for capacity entries: a power of 2, at least twice
// capacity.
func hashSetSlots(capacity int) int {
	n := 16
	for n < 2*capacity {
		n <<= 1
	}
	return n
}

// has reports whether h (nonzero) is in the set.
func (s *hashSet) has(h uint64) bool {
	if s.slots == nil {
		return false
	}
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// add inserts h (nonzero); it reports false if h was there already. The caller keeps
// the set at most half full.
func (s *hashSet) add(h uint64) bool {
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			return true
		}
	}
}

// remove deletes h if present, moving back the entries of its probe run that would
// otherwise become unreachable.
func (s *hashSet) remove(h uint64) {
	i := h & s.mask
	for ; s.slots[i] != h; i = (i + 1) & s.mask {
		if s.slots[i] == 0 {
			return
		}
	}
	for j := (i + 1) & s.mask; s.slots[j] != 0; j = (j + 1) & s.mask {
		// The entry at j may move to the hole at i unless its home slot lies
		// cyclically in (i, j].
		home := s.slots[j] & s.mask
		if (j-home)&s.mask >= (j-i)&s.mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
}
