package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.csv")
	if err := os.WriteFile(secret, []byte("top,secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"target.csv", "data/ref.parquet"} {
		p := filepath.Join(dir, f)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(secret, filepath.Join(dir, "link.csv")))                         // a file link out
	must(os.Symlink(outside, filepath.Join(dir, "out")))                             // a directory link out
	must(os.Symlink(filepath.Join(dir, "target.csv"), filepath.Join(dir, "in.csv"))) // a link that stays in
	realDir, _ := filepath.EvalSymlinks(dir)

	for _, tc := range []struct {
		rel, want string // want: the resolved path (relative to dir), or the error's text
		ok        bool
	}{
		{"target.csv", "target.csv", true},
		{"data/ref.parquet", "data/ref.parquet", true},
		{"./data/../target.csv", `contains ".."`, false},
		{"in.csv", "target.csv", true},
		{"missing.csv", "missing.csv", true},
		{"", "is empty", false},
		{secret, "absolute path", false},
		{"/etc/passwd", "absolute path", false},
		{"../" + filepath.Base(outside) + "/secret.csv", `contains ".."`, false},
		{"data/../../x", `contains ".."`, false},
		{`..\x`, `contains ".."`, false},
		{"link.csv", "symbolic link", false},
		{"out/secret.csv", "symbolic link", false},
		{"out/missing.csv", "symbolic link", false},
		{"a\x00b", "NUL", false},
	} {
		got, err := Resolve(dir, "targets", tc.rel)
		if tc.ok {
			if err != nil || got != filepath.Join(realDir, tc.want) {
				t.Errorf("%q: %q %v, want %q", tc.rel, got, err, filepath.Join(realDir, tc.want))
			}
			continue
		}
		if !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "targets") {
			t.Errorf("%q: %q %v, want ErrOutside saying %q", tc.rel, got, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "top,secret") {
			t.Errorf("%q: the error shows the file's content: %v", tc.rel, err)
		}
	}
}
