package serve

import (
	"testing"

	"github.com/google/uuid"
)

// TestNewUUID: canonical version-4 UUIDs, all different.
func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 10_000 {
		s := newUUID()
		u, err := uuid.Parse(s)
		if err != nil || u.String() != s {
			t.Fatalf("%q: not a canonical UUID (%v)", s, err)
		}
		if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("%q: version %d variant %v, want 4, RFC 4122", s, u.Version(), u.Variant())
		}
		if seen[s] {
			t.Fatalf("%q twice", s)
		}
		seen[s] = true
	}
}

func BenchmarkNewUUID(b *testing.B) {
	b.Run("newUUID", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = newUUID()
		}
	})
	b.Run("uuid.NewString", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = uuid.NewString()
		}
	})
}
