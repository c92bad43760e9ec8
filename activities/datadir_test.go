package activities

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/batch/batchapi"
)

// TestFileInputsStayInDataDir: reference and targets naming a file outside DATA_DIR
// (absolute, with "..", through a symbolic link) fail the activity at once as bad
// input, with an error that names the input and never shows the file's content.
func TestFileInputsStayInDataDir(t *testing.T) {
	f := newFixture(t, 1, 100)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.csv")
	if err := os.WriteFile(secret, []byte("SECRET-CONTENT,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(f.a.DataDir, "leak.csv")); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(f.a.DataDir, secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{secret, "absolute path"},
		{"/etc/passwd", "absolute path"},
		{rel, `contains ".."`},
		{"leak.csv", "symbolic link"},
	} {
		_, err := run[batchapi.ScoreReferenceResult](t, f.newEnv(), f.a.ScoreReference, batchapi.ScoreReferenceInput{Run: runKey, Dataset: "taxi", Reference: tc.path})
		wantBadInput(t, err, "reference")
		wantBadInput(t, err, tc.want)
		_, err2 := run[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Targets: tc.path})
		wantBadInput(t, err2, "targets")
		wantBadInput(t, err2, tc.want)
		for _, e := range []error{err, err2} {
			if strings.Contains(e.Error(), "SECRET-CONTENT") {
				t.Errorf("%s: the error shows the file's content: %v", tc.path, e)
			}
		}
	}
	t.Logf("e.g. %v", func() error {
		_, err := run[batchapi.JoinResult](t, f.newEnv(), f.a.JoinTarget, batchapi.JoinInput{Run: runKey, Dataset: "taxi", Targets: "leak.csv"})
		return err
	}())
}
