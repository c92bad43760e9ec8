package metrics

import (
	"encoding/json"
	"fmt"
	"maps"
)

// CatSummary is a mergeable summary of a categorical column: exact counts
// per category plus the missing count. Merge adds counts, so it is exact,
// associative and commutative. Its JSON size grows with the number of
// distinct categories. The zero value is an empty summary.
type CatSummary struct {
	counts  map[string]int64
	missing int64
}

// NewCatSummary returns an empty summary.
func NewCatSummary() *CatSummary { return &CatSummary{counts: make(map[string]int64)} }

// Add records one present value.
func (s *CatSummary) Add(v string) {
	if s.counts == nil {
		s.counts = make(map[string]int64)
	}
	s.counts[v]++
}

// AddMissing records one missing value.
func (s *CatSummary) AddMissing() { s.missing++ }

// AddColumn adds every row of c. It returns an error wrapping ErrLength if
// len(c.Valid) is neither 0 nor len(c.Values).
func (s *CatSummary) AddColumn(c CatColumn) error {
	if c.Valid != nil && len(c.Valid) != len(c.Values) {
		return fmt.Errorf("metrics: CatSummary.AddColumn: len(Valid) = %d, len(Values) = %d: %w", len(c.Valid), len(c.Values), ErrLength)
	}
	for i, v := range c.Values {
		if c.Valid != nil && !c.Valid[i] {
			s.missing++
		} else {
			s.Add(v)
		}
	}
	return nil
}

// Merge adds o's counts into s (o is unchanged).
func (s *CatSummary) Merge(o *CatSummary) {
	if o == nil {
		return
	}
	if s.counts == nil {
		s.counts = make(map[string]int64, len(o.counts))
	}
	if o == s {
		o = s.Clone()
	}
	for v, c := range o.counts {
		s.counts[v] += c
	}
	s.missing += o.missing
}

// Clone returns a deep copy of s.
func (s *CatSummary) Clone() *CatSummary {
	return &CatSummary{counts: maps.Clone(s.counts), missing: s.missing}
}

// N returns the number of present values.
func (s *CatSummary) N() int64 {
	var n int64
	for _, c := range s.counts {
		n += c
	}
	return n
}

// Missing returns the number of missing values.
func (s *CatSummary) Missing() int64 { return s.missing }

// Counts returns a copy of the per-category counts (the input of
// chi-square, Jensen–Shannon or PSI drift tests).
func (s *CatSummary) Counts() map[string]int64 { return maps.Clone(s.counts) }

type catSummaryJSON struct {
	Version int              `json:"v"`
	Missing int64            `json:"missing,omitempty"`
	Counts  map[string]int64 `json:"counts"`
}

// MarshalJSON encodes the counts (keys sorted, so the output is
// deterministic).
func (s *CatSummary) MarshalJSON() ([]byte, error) {
	c := s.counts
	if c == nil {
		c = map[string]int64{}
	}
	return json.Marshal(catSummaryJSON{Version: 1, Missing: s.missing, Counts: c})
}

// UnmarshalJSON decodes a summary written by MarshalJSON; negative or zero
// counts yield an error wrapping ErrCorrupt.
func (s *CatSummary) UnmarshalJSON(b []byte) error {
	var w catSummaryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("metrics: decoding CatSummary: %w", err)
	}
	if w.Version != 1 || w.Missing < 0 {
		return fmt.Errorf("metrics: decoding CatSummary: version %d, missing %d: %w", w.Version, w.Missing, ErrCorrupt)
	}
	for v, c := range w.Counts {
		if c <= 0 {
			return fmt.Errorf("metrics: decoding CatSummary: count %d for %q: %w", c, v, ErrCorrupt)
		}
	}
	if w.Counts == nil {
		w.Counts = make(map[string]int64)
	}
	s.counts, s.missing = w.Counts, w.Missing
	return nil
}

// CategoricalQualityFromSummary returns the same ColumnQuality as
// CategoricalQuality on the rows summarised by cur (and ref, which may be
// nil); every field is exact.
func CategoricalQualityFromSummary(cur, ref *CatSummary) ColumnQuality {
	var rc map[string]int64
	if ref != nil {
		rc = ref.counts
	}
	return catQuality(cur.counts, cur.missing, rc, ref != nil)
}
