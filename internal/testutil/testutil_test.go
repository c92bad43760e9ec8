package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	for _, p := range []string{"go.mod", "config.yaml", "internal/testutil/testutil.go"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s under the root %s: %v", p, root, err)
		}
	}
	// From a directory outside the repository: an error, not a wrong root.
	t.Chdir(t.TempDir())
	if r, err := FindRepoRoot(); err == nil {
		t.Errorf("outside the repository: root %s", r)
	}
}

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(&b, "%d\n", i)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 8*100*2 {
		t.Errorf("%d bytes, want 1600", n)
	}
}
