package estimate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/modelmon/modelmon/internal/model"
)

// Format names the artifact kind; FormatVersion is bumped on any incompatible change
// (2: the features implied_speed and pu_is_do).
const (
	Format        = "modelmon.dle-estimator"
	FormatVersion = 2
)

// Estimator is a fitted Direct Loss Estimation estimator for one model version,
// and its on-disk artifact (JSON): see Save and Load.
type Estimator struct {
	Format        string `json:"format"`
	FormatVersion int    `json:"format_version"`
	// Version is "sha256:" + the first 16 hex digits of the SHA-256 of the artifact
	// with Version set to "", as for the model.
	Version string `json:"estimator_version"`
	// ModelVersion is the version of the model whose losses the nannies predict;
	// the estimator refuses any other model.
	ModelVersion string    `json:"model_version"`
	Reference    Reference `json:"reference"`
	Params       GBTParams `json:"params"`
	Features     []Binner  `json:"features"`
	Nannies      []Nanny   `json:"nannies"`

	model *model.Model
}

// ErrNotEstimator is returned (wrapped) for a file that is not an estimator
// artifact this program can read.
var ErrNotEstimator = errors.New("not an estimator artifact")

// ErrModelMismatch is returned (wrapped) when an estimator meets a model version it
// was not trained for.
var ErrModelMismatch = errors.New("estimator was trained for another model version")

// Seal sets Format, FormatVersion and Version from the content.
func (e *Estimator) Seal() error {
	e.Format, e.FormatVersion = Format, FormatVersion
	h, err := e.contentHash()
	if err != nil {
		return err
	}
	e.Version = h
	return nil
}

func (e *Estimator) contentHash() (string, error) {
	c := *e
	c.Version = ""
	c.model = nil
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode estimator: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:8]), nil
}

// Bind ties the estimator to the model it estimates for (the estimator reads
// which PU_DO pairs the model saw in training); m's version must be the
// estimator's ModelVersion.
func (e *Estimator) Bind(m *model.Model) error {
	if m.Version != e.ModelVersion {
		return fmt.Errorf("%w: estimator %s is for model %s, the model is %s; run starter train-estimator for this model",
			ErrModelMismatch, e.Version, e.ModelVersion, m.Version)
	}
	for i := range e.Nannies {
		e.Nannies[i].flat = compile(&e.Nannies[i].GBT, e.Features)
	}
	e.model = m
	return nil
}

// Save writes the artifact atomically (temporary file + rename).
func (e *Estimator) Save(path string) error {
	if e.Version == "" {
		if err := e.Seal(); err != nil {
			return err
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode estimator: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save estimator: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".estimator-*.json")
	if err != nil {
		return fmt.Errorf("save estimator: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save estimator: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save estimator: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("save estimator: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save estimator: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save estimator: %w", err)
	}
	return nil
}

// Load reads and verifies an artifact (see Decode) and binds it to the model m: an
// estimator trained for another model version is ErrModelMismatch.
func Load(path string, m *model.Model) (*Estimator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load estimator: %w", err)
	}
	defer f.Close()
	e, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("load estimator %s: %w", path, err)
	}
	if err := e.Bind(m); err != nil {
		return nil, fmt.Errorf("load estimator %s: %w", path, err)
	}
	return e, nil
}

// Decode reads an artifact from r: truncated JSON, another format, another format
// version, a content hash that does not match its version, missing nannies or
// malformed trees are ErrNotEstimator. The result is not bound to a model.
func Decode(r io.Reader) (*Estimator, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var e Estimator
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotEstimator, err)
	}
	if e.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrNotEstimator, e.Format, Format)
	}
	if e.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w: format version %d, this program reads %d", ErrNotEstimator, e.FormatVersion, FormatVersion)
	}
	if e.ModelVersion == "" {
		return nil, fmt.Errorf("%w: no model_version", ErrNotEstimator)
	}
	if len(e.Features) != numFeatures {
		return nil, fmt.Errorf("%w: %d features, want %d", ErrNotEstimator, len(e.Features), numFeatures)
	}
	for f, b := range e.Features {
		if b.Name != featureNames[f] || b.Categorical != featureCategorical[f] {
			return nil, fmt.Errorf("%w: feature %d is %q, want %q", ErrNotEstimator, f, b.Name, featureNames[f])
		}
		if !slices.IsSorted(b.Edges) || !slices.IsSorted(b.Categories) {
			return nil, fmt.Errorf("%w: feature %s: bins not sorted", ErrNotEstimator, b.Name)
		}
	}
	if len(e.Nannies) != len(losses) {
		return nil, fmt.Errorf("%w: %d nannies, want %d", ErrNotEstimator, len(e.Nannies), len(losses))
	}
	for _, l := range losses {
		if e.nanny(l) == nil {
			return nil, fmt.Errorf("%w: no %s nanny", ErrNotEstimator, l)
		}
	}
	for i := range e.Nannies {
		n := &e.Nannies[i]
		if err := n.check(e.Features); err != nil {
			return nil, fmt.Errorf("%w: nanny %s: %w", ErrNotEstimator, n.Loss, err)
		}
	}
	want, err := e.contentHash()
	if err != nil {
		return nil, err
	}
	if e.Version != want {
		return nil, fmt.Errorf("%w: estimator_version %q does not match its content (%s): the file was altered", ErrNotEstimator, e.Version, want)
	}
	return &e, nil
}
