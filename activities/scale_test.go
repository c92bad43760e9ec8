package activities

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/batch"
	"github.com/modelmon/modelmon/internal/batch/batchapi"
	"github.com/modelmon/modelmon/internal/batch/batchtest"
	"github.com/modelmon/modelmon/internal/mongodb"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

// TestScaleComputeMetrics measures ComputeMetrics over BATCH_SCALE_ROWS logged
// predictions (e.g. 1000000; skipped when unset): real 2022 rides, repeated, staged
// in 10,000-row chunks. It reports the time and peak Go heap of decoding the chunks
// and report.Compute (what ComputeMetrics does after reading from the database), then
// the whole activity against FerretDB.
//
//	BATCH_SCALE_ROWS=1000000 go test ./activities -run TestScaleComputeMetrics -v -timeout 30m
func TestScaleComputeMetrics(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BATCH_SCALE_ROWS"))
	if n == 0 {
		t.Skip("set BATCH_SCALE_ROWS to run")
	}
	ctx := context.Background()
	ds := batch.Taxi()
	var trips []taxi.Trip
	for _, m := range []string{"2022-01", "2022-02", "2022-03"} {
		tr, err := taxi.ReadFile(ctx, batchtest.DataPath("green_tripdata_"+m+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		trips = append(trips, tr...)
	}
	refTrips, err := taxi.ReadFile(ctx, batchtest.DataPath("green_tripdata_2021-01.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	ref := report.TaxiDataset(refTrips, testModel)
	refTrips = nil

	// Current chunks as FetchPredictions and JoinTarget stage them.
	rows := DefaultChunkRows
	var cur, tgt [][]byte
	b := report.NewDataset(ds.Report)
	tb := &report.Dataset{}
	flush := func() {
		cur = append(cur, batch.EncodeDataset(&report.Dataset{Rows: b.Rows, Numerical: b.Numerical, Categorical: b.Categorical, Prediction: b.Prediction}))
		tgt = append(tgt, batch.EncodeDataset(tb))
		b, tb = report.NewDataset(ds.Report), &report.Dataset{}
	}
	for i := 0; i < n; i++ {
		tr := &trips[i%len(trips)]
		pred := 0.0
		if tr.PULocationID != nil && tr.DOLocationID != nil && tr.TripDistance != nil {
			pred = testModel.Predict(taxi.PUDO(*tr.PULocationID, *tr.DOLocationID), []float64{*tr.TripDistance})
		}
		b.Append(report.TaxiRow(tr, pred, nil))
		d, ok := tr.DurationMinutes()
		tb.Target = append(tb.Target, d)
		tb.TargetValid = append(tb.TargetValid, ok && ds.InDomain(d))
		tb.Rows++
		if b.Rows == rows {
			flush()
		}
	}
	if b.Rows > 0 {
		flush()
	}
	trips = nil
	staged := 0
	for i := range cur {
		staged += len(cur[i]) + len(tgt[i])
	}
	t.Logf("%d rows in %d chunks: %.1f MB staged (%.1f bytes a row)", n, len(cur), float64(staged)/1e6, float64(staged)/float64(n))

	// In memory: decode + assemble + report.Compute, with the peak heap.
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	t0 := time.Now()
	curDS := report.NewDataset(ds.Report)
	curDS.Grow(n)
	tDS := report.NewDataset(report.Config{})
	tDS.Grow(n)
	for i := range cur {
		c, err := batch.DecodeDataset(cur[i])
		if err != nil {
			t.Fatal(err)
		}
		curDS.AppendDataset(c)
		tc, err := batch.DecodeDataset(tgt[i])
		if err != nil {
			t.Fatal(err)
		}
		tDS.AppendDataset(tc)
	}
	if err := batch.SetTargets(curDS, tDS); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	r, err := report.Compute(ctx, ref, curDS, ds.Report)
	if err != nil {
		t.Fatal(err)
	}
	t2 := time.Now()
	close(stop)
	t.Logf("in memory: decode+assemble %s, report.Compute %s, total %s; peak heap %.0f MiB (%.0f MiB above the %.0f MiB before, which holds the staged bytes); dataset drift %t",
		t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t2.Sub(t0).Round(time.Millisecond),
		float64(peak.Load())/(1<<20), float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), float64(base.HeapAlloc)/(1<<20), r.DataDrift.DatasetDrift)
	curDS, tDS = nil, nil

	if os.Getenv("BATCH_SCALE_DB") == "" {
		return
	}
	// Against FerretDB: stage the chunks, then the whole activity.
	f := newFixture(t, 1, rows)
	st := batch.NewStaging(f.a.DB)
	t3 := time.Now()
	refRows := ref.Rows
	refChunks := 0
	for from := 0; from < ref.Rows; from += rows {
		if err := st.Put(ctx, runKey, batch.StageReference, refChunks, min(rows, ref.Rows-from), nil, batch.EncodeDataset(ref.Slice(from, min(from+rows, ref.Rows)))); err != nil {
			t.Fatal(err)
		}
		refChunks++
	}
	for i := range cur {
		if err := st.Put(ctx, runKey, batch.StageCurrent, i, 0, nil, cur[i]); err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, runKey, batch.StageTarget, i, 0, nil, tgt[i]); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("FerretDB: staged %d chunks in %s", refChunks+2*len(cur), time.Since(t3).Round(time.Millisecond))
	cm := mustRun[batchapi.ComputeResult](t, f.newEnv(), f.a.ComputeMetrics, batchapi.ComputeInput{Run: runKey, Dataset: "taxi",
		Reference: batch.StageRef{Run: runKey, Stage: batch.StageReference, Chunks: refChunks, Rows: refRows},
		Current:   batch.StageRef{Run: runKey, Stage: batch.StageCurrent, Chunks: len(cur), Rows: n},
		Targets:   batch.StageRef{Run: runKey, Stage: batch.StageTarget, Chunks: len(cur), Rows: n}})
	t.Logf("ComputeMetrics on FerretDB: load %d ms, compute %d ms", cm.LoadMS, cm.ComputeMS)
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM") {
				t.Logf("process peak RSS (test + FerretDB): %s", strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")))
			}
		}
	}
}

// TestScaleFetch measures FetchPredictions over BATCH_SCALE_FETCH logged predictions
// on FerretDB (e.g. 100000; skipped when unset): throughput and the Go heap of the
// test process (FerretDB runs in it too and sorts the window in memory).
func TestScaleFetch(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BATCH_SCALE_FETCH"))
	if n == 0 {
		t.Skip("set BATCH_SCALE_FETCH to run")
	}
	ctx := context.Background()
	f := newFixture(t, 1, DefaultChunkRows)
	rides, err := batchtest.Rides(ctx, batchtest.DataPath("green_tripdata_2022-02.parquet"), testModel, "s", 0, min(n, 60_000), day)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	coll := f.a.DB.Collection(mongodb.CollectionData)
	for k := 0; k*len(rides) < n; k++ {
		part := make([]batchtest.Ride, 0, len(rides))
		for i, r := range rides {
			if k*len(rides)+i >= n {
				break
			}
			r.ID = fmt.Sprintf("s%d-%d", k, i)
			r.ReceivedAt = r.ReceivedAt.Add(time.Duration(k) * time.Millisecond)
			part = append(part, r)
		}
		if err := batchtest.InsertRides(ctx, coll, part, testModel.Version); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("inserted %d logged predictions in %s", n, time.Since(t0).Round(time.Millisecond))
	runtime.GC()
	t0 = time.Now()
	res := f.fetch(t)
	el := time.Since(t0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("FetchPredictions: %d rows, %d chunks in %s (%.0f rows/s); Go heap now %.0f MiB, sys %.0f MiB",
		res.Current.Rows, res.Current.Chunks, el.Round(time.Millisecond), float64(res.Current.Rows)/el.Seconds(), float64(ms.HeapAlloc)/(1<<20), float64(ms.Sys)/(1<<20))
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM") {
				t.Logf("process peak RSS (test + FerretDB): %s", strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")))
			}
		}
	}
}
