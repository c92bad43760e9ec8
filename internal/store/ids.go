package store

import (
	"hash/maphash"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// DefaultRecentIDs is LoggerOptions.RecentIDs' default (about 12 MB of heap).
const DefaultRecentIDs = 1 << 18

// idIndex is what a Logger with a spool knows of the ids it must refuse while the
// database cannot: the ids in the spool (rebuilt from the spool's files at start) and
// the last ids this process had acknowledged by the database. It holds 64-bit hashes,
// not ids: a false 409 needs two ids with the same hash (about n/2^64 per lookup).
// Memory: about 46 bytes per remembered id (262,144 recent ids: 12 MB measured) and
// about as much per spooled record (a full 1 GiB spool of /predict records, 470-670
// bytes of BSON each: 75-100 MB).
// It cannot know the ids other processes stored, nor those this process stored
// before the recent ones or before it started: the drain finds those (see
// Logger.insertIdempotent).
type idIndex struct {
	seed maphash.Seed

	mu      sync.Mutex
	spooled map[uint64]int32 // hash -> records with that id in the spool
	recent  map[uint64]struct{}
	ring    []uint64 // recent, oldest first from next
	next    int
}

func newIDIndex(recent int) *idIndex {
	return &idIndex{
		seed:    maphash.MakeSeed(),
		spooled: map[uint64]int32{},
		recent:  make(map[uint64]struct{}, min(recent, 1<<16)),
		ring:    make([]uint64, 0, min(recent, 1<<16)),
		next:    0,
	}
}

// hashID hashes doc's _id (its BSON type and value); ok is false without one.
func (x *idIndex) hashID(doc bson.Raw) (uint64, bool) {
	v, err := doc.LookupErr("_id")
	if err != nil {
		return 0, false
	}
	var h maphash.Hash
	h.SetSeed(x.seed)
	_ = h.WriteByte(byte(v.Type))
	_, _ = h.Write(v.Value)
	return h.Sum64(), true
}

// known reports whether h is in the spool or was recently acknowledged. Called with
// x.mu held.
func (x *idIndex) knownLocked(h uint64) bool {
	if x.spooled[h] > 0 {
		return true
	}
	_, ok := x.recent[h]
	return ok
}

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

// addRecentLocked remembers h as acknowledged, forgetting the oldest beyond capacity.
func (x *idIndex) addRecentLocked(h uint64, capacity int) {
	if capacity <= 0 {
		return
	}
	if _, ok := x.recent[h]; ok {
		return
	}
	x.recent[h] = struct{}{}
	if len(x.ring) < capacity {
		x.ring = append(x.ring, h)
		return
	}
	delete(x.recent, x.ring[x.next])
	x.ring[x.next] = h
	x.next = (x.next + 1) % len(x.ring)
}
