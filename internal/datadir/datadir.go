// Package datadir confines the file inputs of the batch workflow (reference,
// targets) to the worker's DATA_DIR.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrOutside is wrapped by the errors of Resolve for a path that is not inside the
// data directory.
var ErrOutside = errors.New("path outside DATA_DIR")

// Resolve returns the file that the workflow input name (e.g. "reference") with the
// value rel designates inside dir (DATA_DIR). rel must be relative, without a ".."
// element, and must not lead out of dir through a symbolic link; otherwise the error
// wraps ErrOutside and names the input and its value (never the content of a file).
// A file that does not exist is not an error here: the caller's open reports it.
// The check is made when Resolve runs: dir is the operator's, and a link swapped
// inside it afterwards is out of scope.
func Resolve(dir, name, rel string) (string, error) {
	if err := Check(name, rel); err != nil {
		return "", err
	}
	if dir == "" {
		dir = "."
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s: DATA_DIR %q: %w", name, dir, err)
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	p := filepath.Join(root, rel)
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, os.ErrNotExist) {
		// Check the part that exists: a missing file under a link that leads out
		// is still outside.
		parent, perr := filepath.EvalSymlinks(filepath.Dir(p))
		if perr != nil {
			return p, nil // the open reports the missing file
		}
		real = filepath.Join(parent, filepath.Base(p))
	} else if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, quote(rel), err)
	}
	if !within(root, real) {
		return "", fmt.Errorf("%w: %s %s leads outside DATA_DIR through a symbolic link", ErrOutside, name, quote(rel))
	}
	return real, nil
}

// Check is the part of Resolve that needs no file system: rel is a relative path
// without a ".." element (also usable where the worker's DATA_DIR is unknown, such
// as in a client).
func Check(name, rel string) error {
	switch {
	case rel == "":
		return fmt.Errorf("%w: %s is empty", ErrOutside, name)
	case strings.ContainsRune(rel, 0):
		return fmt.Errorf("%w: %s contains a NUL byte", ErrOutside, name)
	case filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`) || filepath.VolumeName(rel) != "":
		return fmt.Errorf("%w: %s %s is an absolute path: give a path relative to the worker's DATA_DIR", ErrOutside, name, quote(rel))
	}
	for _, el := range strings.FieldsFunc(rel, func(r rune) bool { return r == '/' || r == '\\' }) {
		if el == ".." {
			return fmt.Errorf("%w: %s %s contains \"..\": give a path inside the worker's DATA_DIR", ErrOutside, name, quote(rel))
		}
	}
	if !filepath.IsLocal(rel) {
		return fmt.Errorf("%w: %s %s is not a local path inside the worker's DATA_DIR", ErrOutside, name, quote(rel))
	}
	return nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// quote quotes a path for an error, cut to 200 bytes.
func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
