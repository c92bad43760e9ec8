package report

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

var (
	segGoldenDir = filepath.Join("..", "..", "testdata", "segments")
	repoRoot     = filepath.Join("..", "..")
	segMonths    = []string{"green_tripdata_2021-01", "green_tripdata_2022-01"}
)

// TestWriteSegmentsGoldenInput writes the raw columns that segments and the model
// read, every row of the reference (2021-01) and current (2022-01) months, as CSV:
// the input of testdata/segments/golden.py, which applies the training filter, scores
// the rides with models/duration_model.json and groups them itself (Debian has no
// pyarrow, so Python cannot read the parquet files). Run with UPDATE_GOLDEN=1, then
// run golden.py.
func TestWriteSegmentsGoldenInput(t *testing.T) {
	if os.Getenv("UPDATE_GOLDEN") == "" {
		t.Skip("set UPDATE_GOLDEN=1 to rewrite testdata/segments/*.csv.gz")
	}
	if err := os.MkdirAll(segGoldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range segMonths {
		trips, err := taxi.ReadFile(context.Background(), filepath.Join(repoRoot, "data", name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(segGoldenDir, name+".csv.gz"))
		if err != nil {
			t.Fatal(err)
		}
		zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
		fmt.Fprintln(zw, "PULocationID,DOLocationID,trip_distance,lpep_pickup_datetime,lpep_dropoff_datetime")
		opt := func(p *int64) string {
			if p == nil {
				return ""
			}
			return fmt.Sprint(*p)
		}
		for i := range trips {
			tr := &trips[i]
			var dist, pick, drop string
			if tr.TripDistance != nil {
				dist = fmt.Sprint(*tr.TripDistance)
			}
			if tr.Pickup != nil {
				pick = tr.Pickup.Format("2006-01-02 15:04:05.999999")
			}
			if tr.Dropoff != nil {
				drop = tr.Dropoff.Format("2006-01-02 15:04:05.999999")
			}
			fmt.Fprintf(zw, "%s,%s,%s,%s,%s\n", opt(tr.PULocationID), opt(tr.DOLocationID), dist, pick, drop)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

type segGoldenSide struct {
	Rows int      `json:"rows"`
	ME   *float64 `json:"me"`
	MAE  *float64 `json:"mae"`
	RMSE *float64 `json:"rmse"`
	R2   *float64 `json:"r2"`
}

type segGolden struct {
	ReferenceRows int                                            `json:"reference_rows"`
	CurrentRows   int                                            `json:"current_rows"`
	Segments      map[string]map[string]map[string]segGoldenSide `json:"segments"`
}

// TestSegmentsGolden checks the per-segment regression metrics of the shipped model,
// 2022-01 against the reference 2021-01, with every segment reported (MinRows 1),
// against testdata/segments/golden.json (pandas + sklearn, see golden.py): the same
// segments with the same row counts on each side, and rows, me, mae, rmse and r2
// within 1e-9 relative (absolute for values under 1, such as the reference ME of a
// least-squares fit, which is 0 up to rounding).
func TestSegmentsGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("reads two months of data")
	}
	b, err := os.ReadFile(filepath.Join(segGoldenDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g segGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(filepath.Join(repoRoot, "models", "duration_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := taxi.ReadFile(ctx, filepath.Join(repoRoot, "data", segMonths[0]+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := taxi.ReadFile(ctx, filepath.Join(repoRoot, "data", segMonths[1]+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var segs []*Segmenter
	for _, spec := range TaxiSegments(filepath.Join(repoRoot, TaxiLookupFile)) {
		s, err := NewSegmenter(spec, "")
		if err != nil {
			t.Fatal(err)
		}
		segs = append(segs, s)
	}
	refData, curData := TaxiDataset(ref, m), TaxiDataset(cur, m)
	if refData.Rows != g.ReferenceRows || curData.Rows != g.CurrentRows {
		t.Fatalf("rows: Go %d / %d, golden %d / %d", refData.Rows, curData.Rows, g.ReferenceRows, g.CurrentRows)
	}
	got, err := ComputeSegments(ctx, refData, curData, TaxiSegmentSource(ref), TaxiSegmentSource(cur), segs, TaxiConfig(), SegmentOptions{MinRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The JSON contract: segments.pickup_borough.<Borough>.regression.current.{rows,me,mae,rmse}.
	b, err = json.Marshal(&Report{Segments: got})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Segments map[string]map[string]struct {
			Verdict    string `json:"verdict"`
			Regression struct {
				Current map[string]any `json:"current"`
			} `json:"regression"`
		} `json:"segments"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	q := doc.Segments["pickup_borough"]["Queens"]
	for _, k := range []string{"rows", "me", "mae", "rmse"} {
		if _, ok := q.Regression.Current[k].(float64); !ok || q.Verdict == "" {
			t.Errorf("segments.pickup_borough.Queens: verdict %q, regression.current.%s = %v", q.Verdict, k, q.Regression.Current[k])
		}
	}
	if len(got) != len(g.Segments) {
		t.Fatalf("segmentations: Go %d, golden %d", len(got), len(g.Segments))
	}
	checked := 0
	for name, want := range g.Segments {
		gs := got[name]
		if len(gs) != len(want) {
			t.Errorf("%s: Go has %d segments, golden %d", name, len(gs), len(want))
		}
		for value, sides := range want {
			s := gs[value]
			if s == nil {
				t.Errorf("%s=%s: missing in Go", name, value)
				continue
			}
			if s.ReferenceRows != sides["reference"].Rows || s.CurrentRows != sides["current"].Rows {
				t.Errorf("%s=%s: rows Go %d / %d, golden %d / %d", name, value, s.ReferenceRows, s.CurrentRows, sides["reference"].Rows, sides["current"].Rows)
			}
			if s.Verdict == VerdictTooSmall {
				if s.ReferenceRows > 0 && s.CurrentRows > 0 {
					t.Errorf("%s=%s: too small with min 1", name, value)
				}
				continue
			}
			for side, r := range map[string]*SegmentRegression{"reference": s.Regression.Reference, "current": s.Regression.Current} {
				w := sides[side]
				if r.Rows != w.Rows {
					t.Errorf("%s=%s %s: rows %d, golden %d", name, value, side, r.Rows, w.Rows)
				}
				for _, c := range []struct {
					metric string
					got    float64
					want   *float64
				}{{"me", r.ME, w.ME}, {"mae", r.MAE, w.MAE}, {"rmse", r.RMSE, w.RMSE}, {"r2", r.R2, w.R2}} {
					if c.want == nil {
						if !math.IsNaN(c.got) {
							t.Errorf("%s=%s %s %s: %v, golden undefined", name, value, side, c.metric, c.got)
						}
						continue
					}
					if d := math.Abs(c.got - *c.want); !(d <= 1e-9*math.Max(1, math.Abs(*c.want))) {
						t.Errorf("%s=%s %s %s: %.15g, golden %.15g (diff %.3g)", name, value, side, c.metric, c.got, *c.want, d)
					}
					checked++
				}
			}
		}
	}
	t.Logf("%d per-segment values match the golden file", checked)
}
