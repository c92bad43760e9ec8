package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/modelmon/modelmon/internal/testutil"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

// The "done when": `online` with the shipped config.yaml (window_size 1000,
// calibrated verdicts) gives no dataset drift for a 1,000-ride window of 2021-02 and
// dataset drift for one of 2022-01, the rides POSTed to /iterate/taxi as records with
// PULocationID, DOLocationID, trip_distance and the shipped model's prediction, the
// verdict read from GET /monitor/taxi/report. The rides are a random sample of the
// month's rides that pass the training filter (fixed seed).
func TestShippedConfigDriftVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and scores the reference month")
	}
	m, err := model.Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testutil.SyncBuffer
	done := make(chan int, 1)
	addr := freeAddr(t)
	go func() {
		done <- run(ctx, []string{"--online-addr", addr, "--model-path", modelPath, "--mongodb-address", ferret.URI}, env(nil), &logs)
	}()
	base := "http://" + addr
	waitHealthy(t, base, done)

	var last string
	for _, c := range []struct {
		month string
		drift bool
	}{{"2021-02", false}, {"2022-01", true}} {
		trips, err := taxi.ReadFile(ctx, filepath.Join("..", "data", "green_tripdata_"+c.month+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		ds := report.TaxiDataset(trips, m)
		rng := rand.New(rand.NewPCG(2026, 11))
		recs := make([]map[string]any, 1000)
		for i := range recs {
			r := rng.IntN(ds.Rows)
			pu, _ := strconv.Atoi(ds.Categorical["PULocationID"].Values[r])
			do, _ := strconv.Atoi(ds.Categorical["DOLocationID"].Values[r])
			recs[i] = map[string]any{"PULocationID": pu, "DOLocationID": do,
				"trip_distance": ds.Numerical[taxi.FeatureDistance].Values[r], "prediction": ds.Prediction[r]}
		}
		body, _ := json.Marshal(recs)
		res, err := http.Post(base+"/iterate/taxi", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s: POST /iterate/taxi: %d", c.month, res.StatusCode)
		}
		// The window is recomputed within one calculation period (10 s).
		var got struct {
			ComputedAt string `json:"computed_at"`
			Report     struct {
				CurrentRows int `json:"current_rows"`
				DataDrift   struct {
					DatasetDrift bool    `json:"dataset_drift"`
					Method       string  `json:"method"`
					Alpha        float64 `json:"alpha"`
					EnoughData   bool    `json:"enough_data"`
					Columns      map[string]struct {
						StatTest  string   `json:"stattest"`
						Statistic float64  `json:"statistic"`
						PValue    *float64 `json:"p_value"`
						Threshold float64  `json:"threshold"`
						Rule      string   `json:"rule"`
						Alpha     float64  `json:"alpha"`
						Drifted   bool     `json:"drifted"`
					} `json:"columns"`
				} `json:"data_drift"`
			} `json:"report"`
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			res, err := http.Get(base + "/monitor/taxi/report")
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode == http.StatusOK {
				err = json.NewDecoder(res.Body).Decode(&got)
			}
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got.ComputedAt != "" && got.ComputedAt != last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no new computation within 60 s: %s", c.month, logs.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		last = got.ComputedAt
		dd := got.Report.DataDrift
		var cols string
		for name, col := range dd.Columns {
			p := "-"
			if col.PValue != nil {
				p = fmt.Sprintf("%.4f", *col.PValue)
			}
			cols += fmt.Sprintf("\n  %s %s=%.4f threshold=%.4f (%s) p=%s alpha=%v drifted=%v", name, col.StatTest, col.Statistic, col.Threshold, col.Rule, p, col.Alpha, col.Drifted)
			if col.Rule == "" || col.Alpha != 0.005 {
				t.Errorf("%s: column %s: rule %q alpha %v, want a rule and alpha 0.01*2/4", c.month, name, col.Rule, col.Alpha)
			}
		}
		t.Logf("%s: dataset_drift=%v rows=%d%s", c.month, dd.DatasetDrift, got.Report.CurrentRows, cols)
		if dd.DatasetDrift != c.drift || got.Report.CurrentRows != 1000 || dd.Method != "calibrated" || dd.Alpha != 0.01 || !dd.EnoughData {
			t.Errorf("%s: dataset_drift %v rows %d method %q alpha %v enough_data %v, want drift %v, 1000 rows, calibrated, 0.01, true",
				c.month, dd.DatasetDrift, got.Report.CurrentRows, dd.Method, dd.Alpha, dd.EnoughData, c.drift)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, logs.String())
	}
}
