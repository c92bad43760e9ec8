package serve

import (
	"crypto/rand"

	"github.com/google/uuid"
)

// newUUID is uuid.NewString (a random, version 4 UUID from crypto/rand in its
// canonical form) with one allocation instead of two: the random bytes are read into
// the stack, not through an io.Reader.
func newUUID() string {
	var u uuid.UUID
	_, _ = rand.Read(u[:])  // never fails (crypto/rand.Read, Go >= 1.24)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}
