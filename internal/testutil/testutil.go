// Package testutil holds small helpers shared by the tests of several packages: a
// log buffer safe for concurrent use and the repository's root directory.
package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer that a logger (or a command under test) and the test
// may use at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Module is the module path that marks the repository's go.mod.
const Module = "github.com/modelmon/modelmon"

// FindRepoRoot returns the repository's root: the nearest directory at or above the
// working directory (a package's directory under go test) whose go.mod declares
// Module.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && isModule(b) {
			return d, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("repository root: %w", err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("repository root: no go.mod of %s at or above %s", Module, dir)
		}
	}
}

func isModule(gomod []byte) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == Module {
			return true
		}
	}
	return false
}

// RepoRoot is FindRepoRoot for a test: it fails the test when the root is not found.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
