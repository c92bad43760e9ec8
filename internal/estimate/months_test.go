package estimate

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

const dataDir = "../../data"

// evalMonths are the months of data/ after the reference month.
var evalMonths = []string{"2021-03", "2022-01", "2022-02", "2022-03", "2023-01", "2023-02", "2023-03", "2024-03"}

type labelledMonth struct {
	name string
	recs []Record
	y    []float64
}

var (
	realOnce  sync.Once
	realModel *model.Model
	realRef   labelledMonth
	realEval  []labelledMonth
	realErr   error
)

// realData reads the model, the reference month and the evaluation months once per
// test binary.
func realData(t *testing.T) (*model.Model, labelledMonth, []labelledMonth) {
	t.Helper()
	realOnce.Do(func() {
		ctx := context.Background()
		realModel, realErr = model.Load("../../models/duration_model.json")
		if realErr != nil {
			return
		}
		read := func(month string) (labelledMonth, error) {
			trips, err := taxi.ReadFile(ctx, filepath.Join(dataDir, "green_tripdata_"+month+".parquet"))
			if err != nil {
				return labelledMonth{}, err
			}
			recs, y := Labelled(realModel, trips)
			return labelledMonth{month, recs, y}, nil
		}
		if realRef, realErr = read("2021-02"); realErr != nil {
			return
		}
		for _, m := range evalMonths {
			lm, err := read(m)
			if err != nil {
				realErr = err
				return
			}
			realEval = append(realEval, lm)
		}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realModel, realRef, realEval
}

func relErr(est, real float64) float64 { return math.Abs(est-real) / real }

func TestExperiment(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	m, ref, months := realData(t)
	start := time.Now()
	e, err := Train(context.Background(), m, ref.recs, ref.y, DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train %d rows: %v", len(ref.recs), time.Since(start))
	var b strings.Builder
	var sumR, sumM, maxR, maxM float64
	fmt.Fprintf(&b, "\nmonth rows est_rmse real_rmse err%% naive%% | est_mae real_mae err%% naive%% | est_me real_me\n")
	for _, lm := range months {
		res, err := e.Estimate(lm.recs)
		if err != nil {
			t.Fatal(err)
		}
		real := Realized(lm.recs, lm.y)
		er, em := relErr(res.RMSE, real.RMSE), relErr(res.MAE, real.MAE)
		sumR += er
		sumM += em
		maxR, maxM = math.Max(maxR, er), math.Max(maxM, em)
		fmt.Fprintf(&b, "%s %d %.3f %.3f %.2f %.2f | %.3f %.3f %.2f %.2f | %.3f %.3f\n", lm.name, len(lm.recs),
			res.RMSE, real.RMSE, 100*er, 100*relErr(e.Reference.RMSE, real.RMSE),
			res.MAE, real.MAE, 100*em, 100*relErr(e.Reference.MAE, real.MAE), res.ME, real.ME)
	}
	n := float64(len(months))
	fmt.Fprintf(&b, "rmse mean %.2f%% max %.2f%%; mae mean %.2f%% max %.2f%%\n", 100*sumR/n, 100*maxR, 100*sumM/n, 100*maxM)
	t.Log(b.String())
}
