package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Format names the artifact kind; FormatVersion is bumped on any incompatible change.
const (
	Format        = "modelmon.linear-onehot"
	FormatVersion = 1
)

// Model is a linear regression
//
//	y = Intercept + CategoryCoef[x_cat] + sum_j NumericalCoef[j] * x_num[j]
//
// over one one-hot categorical feature (DictVectorizer semantics: a category unseen in
// training contributes 0) and numerical features. It is also the on-disk artifact
// (JSON): see Save and Load.
type Model struct {
	Format        string `json:"format"`
	FormatVersion int    `json:"format_version"`
	// Version is "sha256:" + the first 16 hex digits of the SHA-256 of the artifact
	// with Version set to "": the same coefficients always give the same version.
	Version       string             `json:"model_version"`
	Target        string             `json:"target"`
	Categorical   string             `json:"categorical"`
	Numerical     []string           `json:"numerical"`
	Intercept     float64            `json:"intercept"`
	NumericalCoef []float64          `json:"numerical_coef"`
	CategoryCoef  map[string]float64 `json:"category_coef"`
	Training      Training           `json:"training"`
}

// Training records where a model came from and how well it fit.
type Training struct {
	Method           string  `json:"method"`
	File             string  `json:"file"`
	SHA256           string  `json:"sha256"`
	Rows             int     `json:"rows"`
	RMSE             float64 `json:"rmse"`
	ValidationFile   string  `json:"validation_file,omitempty"`
	ValidationSHA256 string  `json:"validation_sha256,omitempty"`
	ValidationRows   int     `json:"validation_rows,omitempty"`
	ValidationRMSE   float64 `json:"validation_rmse,omitempty"`
}

// Predict applies the model. num must hold one value per Numerical feature, in order.
func (m *Model) Predict(category string, num []float64) float64 {
	y := m.Intercept + m.CategoryCoef[category]
	for j, c := range m.NumericalCoef {
		y += c * num[j]
	}
	return y
}

// PredictKnown is Predict and Known with one lookup of the category.
func (m *Model) PredictKnown(category string, num []float64) (y float64, known bool) {
	coef, known := m.CategoryCoef[category]
	y = m.Intercept + coef
	for j, c := range m.NumericalCoef {
		y += c * num[j]
	}
	return y, known
}

// Known reports whether the category was seen in training.
func (m *Model) Known(category string) bool {
	_, ok := m.CategoryCoef[category]
	return ok
}

// Seal sets Format, FormatVersion and Version from the content.
func (m *Model) Seal() error {
	m.Format, m.FormatVersion = Format, FormatVersion
	h, err := m.contentHash()
	if err != nil {
		return err
	}
	m.Version = h
	return nil
}

func (m *Model) contentHash() (string, error) {
	c := *m
	c.Version = ""
	b, err := json.Marshal(&c) // map keys are sorted: the encoding is canonical
	if err != nil {
		return "", fmt.Errorf("encode model: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:8]), nil
}

// Save writes the artifact atomically (temporary file + rename).
func (m *Model) Save(path string) error {
	if m.Version == "" {
		if err := m.Seal(); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".model-*.json")
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save model: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save model: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// ErrNotModel is returned (wrapped) by Load for a file that is not a model artifact
// this program can read.
var ErrNotModel = errors.New("not a model artifact")

// Load reads and verifies an artifact: a missing file, truncated JSON, another format,
// a newer format version, a content hash that does not match its version, or
// non-finite coefficients are errors.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	defer f.Close()
	m, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

// Decode reads an artifact from r; see Load.
func Decode(r io.Reader) (*Model, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotModel, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrNotModel, m.Format, Format)
	}
	if m.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w: format version %d, this program reads %d", ErrNotModel, m.FormatVersion, FormatVersion)
	}
	if len(m.NumericalCoef) != len(m.Numerical) {
		return nil, fmt.Errorf("%w: %d numerical features but %d coefficients", ErrNotModel, len(m.Numerical), len(m.NumericalCoef))
	}
	if m.Categorical == "" || m.CategoryCoef == nil {
		return nil, fmt.Errorf("%w: no categorical feature", ErrNotModel)
	}
	finite := !math.IsNaN(m.Intercept) && !math.IsInf(m.Intercept, 0)
	for _, c := range m.NumericalCoef {
		finite = finite && !math.IsNaN(c) && !math.IsInf(c, 0)
	}
	if !finite {
		return nil, fmt.Errorf("%w: non-finite coefficient", ErrNotModel)
	}
	want, err := m.contentHash()
	if err != nil {
		return nil, err
	}
	if m.Version != want {
		return nil, fmt.Errorf("%w: model_version %q does not match its content (%s): the file was altered", ErrNotModel, m.Version, want)
	}
	return &m, nil
}

// Categories returns the known categories, sorted.
func (m *Model) Categories() []string {
	out := make([]string, 0, len(m.CategoryCoef))
	for c := range m.CategoryCoef {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
