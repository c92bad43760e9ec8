package estimate

import (
	"bufio"
	"fmt"
	"os"
	"testing"
)

// TestDumpCSV writes the labelled months as CSV for exploration (ESTIMATE_DUMP=dir).
func TestDumpCSV(t *testing.T) {
	dir := os.Getenv("ESTIMATE_DUMP")
	if dir == "" {
		t.Skip("ESTIMATE_DUMP not set")
	}
	m, ref, months := realData(t)
	for _, lm := range append([]labelledMonth{ref}, months...) {
		f, err := os.Create(dir + "/" + lm.name + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fmt.Fprintln(w, "pu,do,dist,pred,known,hour,wd,day,y")
		for i, r := range lm.recs {
			k := 0
			if m.Known(fmt.Sprintf("%d_%d", r.PULocationID, r.DOLocationID)) {
				k = 1
			}
			fmt.Fprintf(w, "%d,%d,%g,%g,%d,%g,%d,%d,%g\n", r.PULocationID, r.DOLocationID, r.TripDistance, r.Prediction, k,
				float64(r.Pickup.Hour())+float64(r.Pickup.Minute())/60, int(r.Pickup.Weekday()), r.Pickup.Day(), lm.y[i])
		}
		w.Flush()
		f.Close()
	}
}
