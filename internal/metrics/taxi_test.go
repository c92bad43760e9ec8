package metrics

import (
	"errors"
	"fmt"
	"github.com/modelmon/modelmon/internal/drift"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// taxiMonths are the TLC green-taxi files in data/: schema A (GZIP, int64
// ids, double counts) up to 2023-01, schema B (ZSTD, int32 ids, int64
// counts) from 2023-02.
var taxiMonths = []string{"2021-01", "2021-02", "2021-03", "2022-01", "2022-02", "2022-03", "2023-01", "2023-02", "2023-03", "2024-03"}

// readFloatColumn reads one top-level column of a parquet file by name,
// converting any integer or floating physical type to float64; nulls are
// reported in the Valid mask. It does not assume a schema.
func readFloatColumn(path, name string) (NumColumn, error) {
	f, err := os.Open(path)
	if err != nil {
		return NumColumn{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return NumColumn{}, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return NumColumn{}, fmt.Errorf("open %s: %w", path, err)
	}
	leaf, ok := pf.Schema().Lookup(name)
	if !ok {
		return NumColumn{}, fmt.Errorf("%s: no column %q", path, name)
	}
	var col NumColumn
	buf := make([]parquet.Value, 4096)
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return NumColumn{}, fmt.Errorf("%s: %s: %w", path, name, err)
			}
			vr := p.Values()
			for {
				n, err := vr.ReadValues(buf)
				for _, v := range buf[:n] {
					if v.IsNull() {
						col.Values = append(col.Values, 0)
						col.Valid = append(col.Valid, false)
						continue
					}
					var x float64
					switch v.Kind() {
					case parquet.Double:
						x = v.Double()
					case parquet.Float:
						x = float64(v.Float())
					case parquet.Int32:
						x = float64(v.Int32())
					case parquet.Int64:
						x = float64(v.Int64())
					default:
						pages.Close()
						return NumColumn{}, fmt.Errorf("%s: %s: unsupported kind %v", path, name, v.Kind())
					}
					col.Values = append(col.Values, x)
					col.Valid = append(col.Valid, true)
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					pages.Close()
					return NumColumn{}, fmt.Errorf("%s: %s: %w", path, name, err)
				}
			}
			parquet.Release(p)
		}
		pages.Close()
	}
	return col, nil
}

type taxiColumns struct {
	distance, pu map[string]NumColumn
}

func loadTaxi(t testing.TB) taxiColumns {
	t.Helper()
	dir := filepath.Join("..", "..", "data")
	tc := taxiColumns{distance: map[string]NumColumn{}, pu: map[string]NumColumn{}}
	for _, m := range taxiMonths {
		path := filepath.Join(dir, "green_tripdata_"+m+".parquet")
		if _, err := os.Stat(path); err != nil {
			t.Skipf("taxi data not available: %v", err)
		}
		d, err := readFloatColumn(path, "trip_distance")
		if err != nil {
			t.Fatal(err)
		}
		pu, err := readFloatColumn(path, "PULocationID")
		if err != nil {
			t.Fatal(err)
		}
		tc.distance[m], tc.pu[m] = d, pu
	}
	return tc
}

func present(c NumColumn) []float64 {
	var out []float64
	for i, x := range c.Values {
		if c.Valid == nil || c.Valid[i] {
			out = append(out, x)
		}
	}
	return out
}

// summariseChunks builds one NumSummary per chunk of the column (as
// workers would), round-trips each through JSON and merges them.
func summariseChunks(t testing.TB, c NumColumn, chunks int) (*NumSummary, int) {
	t.Helper()
	merged := NewNumSummary()
	maxSize := 0
	n := len(c.Values)
	for k := range chunks {
		lo, hi := k*n/chunks, (k+1)*n/chunks
		s := NewNumSummary()
		if err := s.AddColumn(NumColumn{Values: c.Values[lo:hi], Valid: c.Valid[lo:hi]}); err != nil {
			t.Fatal(err)
		}
		b, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		maxSize = max(maxSize, len(b))
		var back NumSummary
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		if err := merged.Merge(&back); err != nil {
			t.Fatal(err)
		}
	}
	return merged, maxSize
}

// Approximation bounds asserted on the real months (trip_distance, which
// spans 0 … 244,152 miles with heavy ties; PULocationID, 1 … 265):
//
//   - quantiles p5 … p95 from merged summaries: |merged − exact| ≤
//     α·|exact| + (gap to the next order statistic) — asserted as
//     "exact ∈ QuantileInterval" plus |merged − exact| ≤ quantileRelTol·|exact|;
//   - KS statistic from merged summaries within ksAbsTol of scipy's exact
//     value (and always inside the reported bound);
//   - Wasserstein from merged summaries within its reported bound and
//     within wassersteinRelTol relative.
const (
	quantileRelTol    = 0.005 // = DefaultAlpha
	ksAbsTol          = 0.01
	wassersteinRelTol = 0.01
)

func TestTaxiMergedSummariesMatchExact(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 10 parquet files")
	}
	tc := loadTaxi(t)
	type colSet struct {
		name string
		cols map[string]NumColumn
	}
	var worstQ, worstKS, worstW, worstKSBound, worstWBound, worstUnique float64
	sizes := map[string]int{}
	for _, cs := range []colSet{{"trip_distance", tc.distance}, {"PULocationID", tc.pu}} {
		merged := map[string]*NumSummary{}
		for _, m := range taxiMonths {
			c := cs.cols[m]
			s, size := summariseChunks(t, c, 7)
			merged[m] = s
			sizes[cs.name] = max(sizes[cs.name], size)
			b, _ := s.MarshalJSON()
			sizes[cs.name] = max(sizes[cs.name], len(b))

			// Exact reference path on the same rows.
			exact, err := NumericQuality(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			approx := NumericQualityFromSummary(s, nil)
			if approx.Count != exact.Count || approx.Missing != exact.Missing || *approx.Min != *exact.Min || *approx.Max != *exact.Max {
				t.Errorf("%s %s: count/missing/min/max differ: %+v vs %+v", cs.name, m, approx, exact)
			}
			if d := math.Abs(*approx.Mean - *exact.Mean); d > 1e-9*math.Abs(*exact.Mean) {
				t.Errorf("%s %s: mean %v vs exact %v", cs.name, m, *approx.Mean, *exact.Mean)
			}
			if d := math.Abs(*approx.Std - *exact.Std); d > 1e-9*math.Abs(*exact.Std) {
				t.Errorf("%s %s: std %v vs exact %v", cs.name, m, *approx.Std, *exact.Std)
			}
			if s.Exact() {
				if approx.Unique != exact.Unique || *approx.MostCommonValue != *exact.MostCommonValue {
					t.Errorf("%s %s: exact summary disagrees on unique/most common", cs.name, m)
				}
			} else {
				rel := math.Abs(float64(approx.Unique-exact.Unique)) / float64(exact.Unique)
				if rel > 0.08 {
					t.Errorf("%s %s: HLL unique %d vs exact %d (%.1f%%)", cs.name, m, approx.Unique, exact.Unique, 100*rel)
				}
				worstUnique = max(worstUnique, rel)
			}

			xs := present(c)
			qs := []float64{0.05, 0.25, 0.5, 0.75, 0.95}
			want, err := Quantiles(xs, qs)
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range qs {
				got := s.Quantile(q)
				lo, hi := s.QuantileInterval(q)
				if want[i] < lo || want[i] > hi {
					t.Errorf("%s %s q=%v: exact %v outside guaranteed [%v, %v]", cs.name, m, q, want[i], lo, hi)
				}
				d := math.Abs(got - want[i])
				if d > quantileRelTol*math.Abs(want[i])+1e-12 {
					t.Errorf("%s %s q=%v: merged %v vs exact %v", cs.name, m, q, got, want[i])
				}
				if want[i] != 0 {
					worstQ = max(worstQ, d/math.Abs(want[i]))
				}
			}
		}
		// Drift statistics between the reference month and every other.
		refX := present(cs.cols[taxiMonths[0]])
		for _, m := range taxiMonths[1:] {
			curX := present(cs.cols[m])
			ks, _, err := drift.KS(refX, curX)
			if err != nil {
				t.Fatal(err)
			}
			w, err := drift.Wasserstein(refX, curX)
			if err != nil {
				t.Fatal(err)
			}
			d, dErr := KSStatisticFromSummariesBound(merged[taxiMonths[0]], merged[m])
			ws, wErr := WassersteinFromSummariesBound(merged[taxiMonths[0]], merged[m])
			if ks < d-1e-12 || ks > d+dErr+1e-12 {
				t.Errorf("%s %s: exact KS %v outside [%v, %v]", cs.name, m, ks, d, d+dErr)
			}
			if math.Abs(d-ks) > ksAbsTol {
				t.Errorf("%s %s: KS from summaries %v vs exact %v", cs.name, m, d, ks)
			}
			if math.Abs(ws-w) > wErr+1e-9*w {
				t.Errorf("%s %s: Wasserstein %v vs exact %v, bound %v", cs.name, m, ws, w, wErr)
			}
			if math.Abs(ws-w) > wassersteinRelTol*w {
				t.Errorf("%s %s: Wasserstein %v vs exact %v", cs.name, m, ws, w)
			}
			worstKS = max(worstKS, math.Abs(d-ks))
			worstKSBound = max(worstKSBound, dErr)
			worstW = max(worstW, math.Abs(ws-w)/w)
			worstWBound = max(worstWBound, wErr/w)
			t.Logf("%-13s 2021-01 vs %s: KS exact %.5f merged %.5f (bound +%.5f); W exact %.5f merged %.5f (bound ±%.5f)", cs.name, m, ks, d, dErr, w, ws, wErr)
		}
	}
	t.Logf("worst quantile relative error %.2e, worst |KS error| %.2e (worst bound %.2e), worst Wasserstein relative error %.2e (worst bound %.2e), worst HLL unique-count error %.2e",
		worstQ, worstKS, worstKSBound, worstW, worstWBound, worstUnique)
	t.Logf("largest JSON summary per column: %v bytes", sizes)
	for name, size := range sizes {
		if size > 10*1024 {
			t.Errorf("%s summary is %d bytes, want ≤ 10 KiB", name, size)
		}
	}
}

// TestTaxiMergeOrderIndependent merges the chunk summaries of all months in
// two different orders and groupings; the sketches must be identical and
// the moments equal up to rounding.
func TestTaxiMergeOrderIndependent(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 10 parquet files")
	}
	tc := loadTaxi(t)
	var parts []*NumSummary
	for _, m := range taxiMonths {
		c := tc.distance[m]
		n := len(c.Values)
		for k := range 4 {
			lo, hi := k*n/4, (k+1)*n/4
			s := NewNumSummary()
			if err := s.AddColumn(NumColumn{Values: c.Values[lo:hi], Valid: c.Valid[lo:hi]}); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, s)
		}
	}
	left := NewNumSummary()
	for _, p := range parts {
		if err := left.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	// Pairwise tree in reverse order.
	level := slices.Clone(parts)
	slices.Reverse(level)
	for len(level) > 1 {
		var next []*NumSummary
		for i := 0; i < len(level); i += 2 {
			a := level[i].Clone()
			if i+1 < len(level) {
				if err := a.Merge(level[i+1]); err != nil {
					t.Fatal(err)
				}
			}
			next = append(next, a)
		}
		level = next
	}
	tree := level[0]
	assertSameSummary(t, left, tree)
}

func assertSameSummary(t *testing.T, a, b *NumSummary) {
	t.Helper()
	if a.n != b.n || a.missing != b.missing || a.min != b.min || a.max != b.max || a.zero != b.zero || a.sketched != b.sketched {
		t.Fatalf("counts differ: n %d/%d missing %d/%d min %v/%v max %v/%v", a.n, b.n, a.missing, b.missing, a.min, b.min, a.max, b.max)
	}
	if math.Abs(a.mean-b.mean) > 1e-12*math.Abs(a.mean) || math.Abs(a.m2-b.m2) > 1e-10*math.Abs(a.m2) {
		t.Errorf("moments differ beyond rounding: mean %v/%v m2 %v/%v", a.mean, b.mean, a.m2, b.m2)
	}
	ka, kb := a.keyed(a.m), b.keyed(b.m)
	if !slices.Equal(ka, kb) {
		t.Errorf("bucket counts differ")
	}
	if a.sketched && !slices.Equal(a.hll.reg, b.hll.reg) {
		t.Errorf("HyperLogLog registers differ")
	}
	if !a.sketched {
		for v, c := range a.exact {
			if b.exact[v] != c {
				t.Errorf("value %v: %d vs %d", v, c, b.exact[v])
			}
		}
	}
}
