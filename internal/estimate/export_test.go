package estimate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelmon/modelmon/internal/taxi"
)

// TestExportLabelledCSV writes the labelled rows of the reference and evaluation
// months (the rows of TestAccuracyOnRealMonths) with the model's prediction to the
// CSV named by ESTIMATE_EXPORT_CSV, for testdata/estimate/accuracy_study.py. The
// pickup hour, weekday and day and the trip type are exported for the study's
// analysis and its reference-only cross-validation folds; the nanny reads none of
// them.
func TestExportLabelledCSV(t *testing.T) {
	out := os.Getenv("ESTIMATE_EXPORT_CSV")
	if out == "" {
		t.Skip("set ESTIMATE_EXPORT_CSV to a file name")
	}
	m, _, _ := realData(t)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "month,pu,do,dist,pred,known,y,hour,wday,day,triptype")
	for _, month := range append([]string{"2021-02"}, evalMonths...) {
		trips, err := taxi.ReadFile(context.Background(), filepath.Join(dataDir, "green_tripdata_"+month+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range trips {
			tr := &trips[i]
			if !tr.KeepForTraining() {
				continue
			}
			r, _ := FromTrip(m, tr)
			d, _ := tr.DurationMinutes()
			known := 0
			if m.Known(taxi.PUDO(r.PULocationID, r.DOLocationID)) {
				known = 1
			}
			tt := int64(-1)
			if tr.TripType != nil {
				tt = *tr.TripType
			}
			fmt.Fprintf(w, "%s,%d,%d,%g,%g,%d,%g,%d,%d,%d,%d\n", month, r.PULocationID, r.DOLocationID, r.TripDistance, r.Prediction,
				known, d, tr.Pickup.Hour(), int(tr.Pickup.Weekday()), tr.Pickup.Day(), tt)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
