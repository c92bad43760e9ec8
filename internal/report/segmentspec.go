package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelmon/modelmon/internal/taxi"
)

// SegmentSpec configures one segmentation of a dataset (YAML and JSON keys in the
// tags). Rows are grouped either by the value of Column, mapped through a lookup
// file when Lookup is set (e.g. PULocationID -> Borough), or by the hour band of the
// timestamp column HourBandsOf (see HourBands). Exactly one of Column and
// HourBandsOf is set.
type SegmentSpec struct {
	// Name is the segmentation's key in the report (segments.<name>) and its label
	// value in metrics, e.g. "pickup_borough".
	Name string `json:"name" yaml:"name"`
	// Column is the source column of the segment value (a categorical or numerical
	// feature of the dataset, or a column given in a SegmentSource).
	Column string `json:"column,omitempty" yaml:"column"`
	// Lookup is a CSV file with a header row that maps Column's value (in the
	// LookupKey column) to the segment (in the LookupValue column). Values the file
	// does not list go to the segment UnknownSegment. Relative paths are resolved
	// by the caller (NewSegmenter's dir).
	Lookup      string `json:"lookup,omitempty" yaml:"lookup"`
	LookupKey   string `json:"lookup_key,omitempty" yaml:"lookup_key"`
	LookupValue string `json:"lookup_value,omitempty" yaml:"lookup_value"`
	// HourBandsOf is a timestamp column: the segment is the hour band of its
	// wall-clock hour.
	HourBandsOf string `json:"hour_bands_of,omitempty" yaml:"hour_bands_of"`
}

// UnknownSegment is the segment of a row whose source value is missing, is not in
// the lookup file, or is not a timestamp (hour bands): such rows are counted
// explicitly, never dropped nor given a made-up segment.
const UnknownSegment = "Unknown"

// HourBand is a half-open range of wall-clock hours [From, To).
type HourBand struct {
	Name     string
	From, To int
}

// HourBands are the time-of-day segments of a timestamp column, in order:
// night [0, 6), morning [6, 10), midday [10, 16), evening [16, 20), late [20, 24).
// Hours are read from the wall-clock time as recorded (TLC timestamps are NYC local
// time), never converted to another zone.
var HourBands = []HourBand{
	{"night", 0, 6},
	{"morning", 6, 10},
	{"midday", 10, 16},
	{"evening", 16, 20},
	{"late", 20, 24},
}

// hourBand maps an hour 0..23 to its band's name.
var hourBand = func() [24]string {
	var b [24]string
	for _, band := range HourBands {
		for h := band.From; h < band.To; h++ {
			b[h] = band.Name
		}
	}
	return b
}()

// HourBandOf is the name of the hour band of t's wall-clock hour.
func HourBandOf(t time.Time) string { return hourBand[t.Hour()] }

// SpecProblem is one problem of a SegmentSpec: Field is its YAML key ("" for the
// whole spec).
type SpecProblem struct {
	Field string
	Msg   string
}

var segmentNameOK = func(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Problems checks the spec's shape (not its lookup file: NewSegmenter reads it).
func (s SegmentSpec) Problems() []SpecProblem {
	var out []SpecProblem
	add := func(field, format string, args ...any) {
		out = append(out, SpecProblem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !segmentNameOK(s.Name) {
		add("name", "must be a name of letters, digits and _ (it is a JSON key and a metric label value), got %q", s.Name)
	}
	switch {
	case s.Column == "" && s.HourBandsOf == "":
		add("", "set column (optionally with lookup) or hour_bands_of")
	case s.Column != "" && s.HourBandsOf != "":
		add("hour_bands_of", "set either column or hour_bands_of, not both")
	}
	if s.HourBandsOf != "" && (s.Lookup != "" || s.LookupKey != "" || s.LookupValue != "") {
		add("lookup", "a lookup applies to column, not to hour_bands_of")
	}
	if s.Lookup != "" {
		if s.LookupKey == "" {
			add("lookup_key", "the lookup file's column that holds %s's values is required with lookup", s.Column)
		}
		if s.LookupValue == "" {
			add("lookup_value", "the lookup file's column that holds the segment is required with lookup")
		}
	} else if s.LookupKey != "" || s.LookupValue != "" {
		add("lookup", "lookup_key and lookup_value need a lookup file")
	}
	return out
}

// Source is the column the segment is read from.
func (s SegmentSpec) Source() string {
	if s.HourBandsOf != "" {
		return s.HourBandsOf
	}
	return s.Column
}

// Segmenter assigns rows to the segments of one SegmentSpec.
type Segmenter struct {
	Spec   SegmentSpec
	lookup map[string]string // normalized key -> segment
	values []string          // every segment, in display order; nil: unbounded
}

// ErrSegmentColumn is wrapped by the error of a segment whose source column is not
// in the data.
var ErrSegmentColumn = errors.New("segment column not in the data")

// NewSegmenter checks spec and reads its lookup file (a relative path is resolved
// against dir).
func NewSegmenter(spec SegmentSpec, dir string) (*Segmenter, error) {
	if p := spec.Problems(); len(p) > 0 {
		msgs := make([]string, len(p))
		for i, e := range p {
			msgs[i] = e.Msg
			if e.Field != "" {
				msgs[i] = e.Field + ": " + e.Msg
			}
		}
		return nil, fmt.Errorf("segment %q: %s", spec.Name, strings.Join(msgs, "; "))
	}
	s := &Segmenter{Spec: spec}
	switch {
	case spec.HourBandsOf != "":
		for _, b := range HourBands {
			s.values = append(s.values, b.Name)
		}
		s.values = append(s.values, UnknownSegment)
	case spec.Lookup != "":
		path := spec.Lookup
		if dir != "" && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		lk, err := readLookup(path, spec.LookupKey, spec.LookupValue)
		if err != nil {
			return nil, fmt.Errorf("segment %q: %w", spec.Name, err)
		}
		s.lookup = lk
		seen := map[string]bool{UnknownSegment: true}
		for _, v := range lk {
			if !seen[v] {
				seen[v] = true
				s.values = append(s.values, v)
			}
		}
		slices.Sort(s.values)
		s.values = append(s.values, UnknownSegment)
	}
	return s, nil
}

// Name is the segmentation's name.
func (s *Segmenter) Name() string { return s.Spec.Name }

// Values lists every segment this segmenter can assign, in display order (hour
// bands in time order, lookup values sorted, UnknownSegment last); nil when the set
// is unbounded (a column without lookup: every distinct value is a segment). Live
// metrics accept bounded segmenters only.
func (s *Segmenter) Values() []string { return slices.Clone(s.values) }

// Bounded reports whether Values is a fixed set.
func (s *Segmenter) Bounded() bool { return s.values != nil }

// readLookup reads a CSV lookup file with a header: key column -> value column.
// Keys are normalized as normKey; an empty value maps to UnknownSegment; a key
// listed twice with different values is an error.
func readLookup(path, keyCol, valCol string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("lookup %s: header: %w", path, err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	ki, vi := slices.Index(head, keyCol), slices.Index(head, valCol)
	if ki < 0 || vi < 0 {
		missing := keyCol
		if ki >= 0 {
			missing = valCol
		}
		return nil, fmt.Errorf("lookup %s: no column %q (columns: %s)", path, missing, strings.Join(head, ", "))
	}
	out := map[string]string{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("lookup %s: %w", path, err)
		}
		k := normKey(rec[ki])
		v := strings.TrimSpace(rec[vi])
		if k == "" {
			line, _ := r.FieldPos(ki)
			return nil, fmt.Errorf("lookup %s:%d: empty %s", path, line, keyCol)
		}
		if v == "" {
			v = UnknownSegment
		}
		if prev, ok := out[k]; ok && prev != v {
			line, _ := r.FieldPos(ki)
			return nil, fmt.Errorf("lookup %s:%d: %s %s maps to %q and to %q", path, line, keyCol, k, prev, v)
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lookup %s: no rows", path)
	}
	return out, nil
}

// normKey trims a key and writes an integral number in plain decimal ("132.0" and
// " 132" are "132"), so that ids read as doubles or strings match the lookup.
func normKey(s string) string {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return s
}

// SegmentColumn is a source column of segments that is not a feature of the
// Dataset (e.g. a ride's pickup time), one value per Dataset row: Str or Time is
// set; Valid[i] false marks a missing value (nil: none missing).
type SegmentColumn struct {
	Str   []string
	Time  []time.Time
	Valid []bool
}

// SegmentSource holds SegmentColumns by column name. A segment's source column is
// looked up here first, then among the Dataset's categorical and numerical features.
type SegmentSource map[string]SegmentColumn

// Assign returns the segment of every row of d. The source column is src's column of
// that name, else d's categorical feature, else d's numerical feature (integral
// numbers in decimal); a column found in none is an error wrapping ErrSegmentColumn.
// Missing values, values absent from the lookup and, for hour bands, values that are
// not timestamps go to UnknownSegment.
func (s *Segmenter) Assign(d *Dataset, src SegmentSource) ([]string, error) {
	col := s.Spec.Source()
	out := make([]string, d.Rows)
	var (
		strs  []string
		times []time.Time
		valid []bool
	)
	if c, ok := src[col]; ok {
		strs, times, valid = c.Str, c.Time, c.Valid
		if n := max(len(strs), len(times)); n != d.Rows || (valid != nil && len(valid) != d.Rows) {
			return nil, fmt.Errorf("segment %q: column %q has %d values for %d rows", s.Name(), col, n, d.Rows)
		}
	} else if c := d.Categorical[col]; c != nil {
		strs, valid = c.Values, c.Valid
	} else if c := d.Numerical[col]; c != nil {
		strs, valid = make([]string, d.Rows), c.Valid
		for i, v := range c.Values {
			strs[i] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	} else {
		have := make([]string, 0, len(src)+len(d.Categorical)+len(d.Numerical))
		for n := range src {
			have = append(have, n)
		}
		for n := range d.Categorical {
			have = append(have, n)
		}
		for n := range d.Numerical {
			have = append(have, n)
		}
		slices.Sort(have)
		return nil, fmt.Errorf("segment %q: %w: %q (the data has %s)", s.Name(), ErrSegmentColumn, col, strings.Join(slices.Compact(have), ", "))
	}
	if len(strs) < d.Rows && len(times) < d.Rows {
		return nil, fmt.Errorf("segment %q: column %q has fewer values than the %d rows", s.Name(), col, d.Rows)
	}
	cache := map[string]string{}
	for i := range out {
		if valid != nil && !valid[i] {
			out[i] = UnknownSegment
			continue
		}
		switch {
		case times != nil && s.Spec.HourBandsOf != "":
			out[i] = HourBandOf(times[i])
		case times != nil:
			out[i] = s.label(times[i].Format(taxi.LocalTimeFormat), cache)
		default:
			out[i] = s.label(strs[i], cache)
		}
	}
	return out, nil
}

// LabelOf is the segment of one source value (ok false: missing), as Assign gives
// it: for callers that label records one at a time (a live window, a batch chunk)
// and keep the label instead of the source column. It is safe for concurrent use.
func (s *Segmenter) LabelOf(v string, ok bool) string {
	if !ok {
		return UnknownSegment
	}
	return s.label(v, nil)
}

// label maps one source value (a string) to its segment; lookups are memoized in cache.
func (s *Segmenter) label(v string, cache map[string]string) string {
	if s.Spec.HourBandsOf != "" { // timestamps are mostly distinct: no memo
		if t, err := taxi.ParseLocalTime(strings.TrimSpace(v)); err == nil {
			return HourBandOf(t.Time)
		}
		return UnknownSegment
	}
	if l, ok := cache[v]; ok && cache != nil {
		return l
	}
	var l string
	switch {
	case s.lookup != nil:
		l = UnknownSegment
		if m, ok := s.lookup[normKey(v)]; ok {
			l = m
		}
	case strings.TrimSpace(v) == "":
		l = UnknownSegment
	default:
		l = v
	}
	if cache != nil {
		cache[v] = l
	}
	return l
}
